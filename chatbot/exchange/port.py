"""The Exchange port itself: the async methods the core may call on a margin exchange.

`adapters/paper` and `adapters/binance` implement it; the core asks nothing else of an exchange.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from chatbot.exchange.events import EventListener
from chatbot.exchange.values import (
    AccountSnapshot,
    InterestRecord,
    LiquidationRecord,
    LoanRecord,
    LoanType,
    Order,
    OrderList,
    OrderRequest,
    Side,
    SideEffect,
    SymbolInfo,
    Trade,
    TransferRecord,
)


@runtime_checkable
class Exchange(Protocol):
    """Async margin exchange. Every method may raise `ExchangeError` or `ExchangeUnavailable`."""

    name: str

    async def now(self) -> datetime: ...

    async def symbols(self) -> dict[str, SymbolInfo]: ...

    async def prices(self) -> dict[str, Decimal]:
        """Index price per symbol (e.g. {"BTCUSDT": Decimal("35000")})."""
        ...

    async def daily_interest_rates(self, isolated_symbol: str | None = None) -> dict[str, Decimal]: ...

    async def trade_fee(self, symbol: str) -> Decimal:
        """Taker commission rate of a symbol (e.g. Decimal("0.001")), taken from the received asset."""
        ...

    async def account(self, isolated_symbol: str | None = None) -> AccountSnapshot: ...

    async def isolated_symbols(self) -> list[str]:
        """Isolated accounts that exist (have been funded)."""
        ...

    async def accounts(self) -> dict[str | None, AccountSnapshot]:
        """Every margin account at once, as `account()` would give each: cross under None, then every
        isolated account of `isolated_symbols()` in its order; one read of the books where the exchange
        allows it (the margin monitor's cycle). Snapshots of one call may share their `prices` mapping:
        read it, never change it."""
        ...

    async def max_borrowable(self, asset: str, isolated_symbol: str | None = None) -> Decimal: ...

    async def max_transferable(self, asset: str, isolated_symbol: str | None = None) -> Decimal: ...

    async def borrow(self, asset: str, amount: Decimal, isolated_symbol: str | None = None) -> int:
        """Returns the tranId."""
        ...

    async def repay(self, asset: str, amount: Decimal, isolated_symbol: str | None = None) -> int: ...

    async def loan_records(
        self,
        type: LoanType,
        *,
        asset: str | None = None,
        isolated_symbol: str | None = None,
        tx_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[LoanRecord]: ...

    async def transfer(self, asset: str, amount: Decimal, from_account: str, to_account: str) -> int: ...

    async def place_order(self, request: OrderRequest) -> Order: ...

    async def place_oco(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        stop_price: Decimal,
        *,
        stop_limit_price: Decimal | None = None,
        side_effect: SideEffect = SideEffect.NO_SIDE_EFFECT,
        isolated: bool = False,
        list_client_order_id: str | None = None,
    ) -> OrderList: ...

    async def cancel_order(
        self, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None,
        isolated: bool = False,
    ) -> Order: ...

    async def get_order(
        self, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None,
        isolated: bool = False,
    ) -> Order: ...

    async def open_orders(self, symbol: str | None = None, isolated: bool = False) -> list[Order]: ...

    async def all_orders(self, symbol: str, isolated: bool = False) -> list[Order]:
        """Every order of a symbol's account (cross, or isolated), oldest first."""
        ...

    async def cancel_order_list(
        self, symbol: str, *, order_list_id: int | None = None, list_client_order_id: str | None = None,
        isolated: bool = False,
    ) -> OrderList: ...

    async def get_order_list(
        self, symbol: str, *, order_list_id: int | None = None, list_client_order_id: str | None = None,
        isolated: bool = False,
    ) -> OrderList: ...

    async def spot_balances(self) -> dict[str, Decimal]:
        """Free balances of the spot wallet (where transfers into margin come from)."""
        ...

    async def transfer_records(
        self, *, asset: str | None = None, account: str | None = None, start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[TransferRecord]:
        """Newest first; `account` (SPOT, CROSS, ISOLATED:<symbol>) selects the margin account's view."""
        ...

    async def my_trades(self, symbol: str, *, isolated: bool = False, from_id: int | None = None) -> list[Trade]:
        """The account's fills of `symbol` (cross, or its isolated account), oldest first, from trade id
        `from_id` on (inclusive) when given."""
        ...

    async def price_change_24h(self, symbol: str) -> Decimal | None:
        """The last 24 h price change of `symbol` in percent, or None where the exchange has no such figure."""
        ...

    async def interest_history(
        self,
        *,
        asset: str | None = None,
        isolated_symbol: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[InterestRecord]: ...

    async def liquidation_records(
        self, *, isolated_symbol: str | None = None, start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[LiquidationRecord]: ...

    async def liquidations_since(
        self, starts: Mapping[str | None, datetime],
    ) -> dict[str | None, list[LiquidationRecord]]:
        """`liquidation_records(isolated_symbol=account, start=start)` of each account of `starts` (None is
        cross), at once, newest first; an account with no record may be left out of the answer."""
        ...

    def subscribe(self, listener: EventListener) -> None:
        """Register a listener for `ExchangeEvent`s (the paper book pushes; live adapters poll)."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class DrillControls(Protocol):
    """Paper-only controls used by `/price` and `/clock` drills and by tests."""

    async def set_price(self, symbol: str, price: Decimal) -> None: ...

    async def advance(self, seconds: int) -> datetime: ...
