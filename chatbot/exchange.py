"""The Exchange port: what the core may ask of a margin exchange, in Decimal value types.

The core (commands, previews, alerts) talks only to this Protocol. `adapters/paper` implements it
with a Binance-faithful simulator; `adapters/binance` with python-binance. Names follow ccxt's
unified margin API where one exists, so a ccxt-backed adapter could be added later.

Accounts are addressed by `isolated_symbol`: `None` is the cross margin account, `"BTCUSDT"` the
isolated account of that pair. Errors carry Binance's numeric code and message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

from chatbot.margin import Band, Thresholds

# ---------------------------------------------------------------------------- enumerations


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    LIMIT_MAKER = "LIMIT_MAKER"
    STOP_LOSS = "STOP_LOSS"
    STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT"
    TAKE_PROFIT = "TAKE_PROFIT"
    TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT"


class SideEffect(StrEnum):
    NO_SIDE_EFFECT = "NO_SIDE_EFFECT"
    MARGIN_BUY = "MARGIN_BUY"
    AUTO_REPAY = "AUTO_REPAY"
    AUTO_BORROW_REPAY = "AUTO_BORROW_REPAY"


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


class LoanType(StrEnum):
    BORROW = "BORROW"
    REPAY = "REPAY"


class LoanStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    FAILED = "FAILED"


# ---------------------------------------------------------------------------- errors


class ExchangeError(Exception):
    """An exchange refused a request. `code` and `msg` are Binance's (e.g. -3006, -2010)."""

    def __init__(self, code: int, msg: str, http_status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.http_status = http_status


class OrderNotFound(ExchangeError):
    """The order does not exist on the exchange (Binance -2013 on query, -2011 on cancel)."""


class RateLimited(ExchangeError):
    """Refused before execution because of a request-rate limit or an IP ban; nothing happened.

    `retry_after` is how long (seconds) no request may be sent.
    """

    def __init__(self, code: int, msg: str, retry_after: float, http_status: int = 429) -> None:
        super().__init__(code, msg, http_status)
        self.retry_after = retry_after


class ExchangeNotReached(ExchangeError):
    """The request never reached the exchange (connection refused, DNS, TLS): nothing happened."""

    def __init__(self, msg: str) -> None:
        super().__init__(0, msg, 0)


class ExchangeUnavailable(Exception):
    """The outcome of a request is unknown (timeout, 5xx, -1006/-1007): reconcile, never re-send."""


# ---------------------------------------------------------------------------- value types


@dataclass(frozen=True)
class SymbolInfo:
    symbol: str
    base: str
    quote: str
    step_size: Decimal
    tick_size: Decimal
    min_qty: Decimal
    min_notional: Decimal


@dataclass(frozen=True)
class AssetBalance:
    asset: str
    free: Decimal
    locked: Decimal
    borrowed: Decimal
    interest: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.locked

    @property
    def liability(self) -> Decimal:
        return self.borrowed + self.interest

    @property
    def net(self) -> Decimal:
        return self.free + self.locked - self.borrowed - self.interest


@dataclass(frozen=True)
class AccountSnapshot:
    """One margin account (cross, or one isolated pair) valued at `prices` (quote = USDT)."""

    isolated_symbol: str | None
    assets: tuple[AssetBalance, ...]
    prices: dict[str, Decimal]  # asset -> price in USDT (USDT itself = 1)
    total_asset_value: Decimal  # USDT
    total_liability_value: Decimal  # USDT, borrowed + interest
    margin_level: Decimal  # 999 sentinel when there is no debt
    band: Band
    thresholds: Thresholds
    locked: bool  # being liquidated
    taken_at: datetime

    @property
    def net_value(self) -> Decimal:
        return self.total_asset_value - self.total_liability_value

    def asset(self, name: str) -> AssetBalance:
        for bal in self.assets:
            if bal.asset == name:
                return bal
        return AssetBalance(name, Decimal(0), Decimal(0), Decimal(0), Decimal(0))


@dataclass(frozen=True)
class OrderRequest:
    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal | None = None
    quote_order_qty: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str | None = None  # GTC / IOC / FOK for LIMIT-style orders
    side_effect: SideEffect = SideEffect.NO_SIDE_EFFECT
    isolated: bool = False
    client_order_id: str | None = None  # [A-Za-z0-9._-]{1,32}
    auto_repay_at_cancel: bool = True


@dataclass(frozen=True)
class Fill:
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str


@dataclass(frozen=True)
class Order:
    order_id: int
    client_order_id: str
    symbol: str
    isolated: bool
    side: Side
    type: OrderType
    status: OrderStatus
    orig_qty: Decimal
    executed_qty: Decimal
    cummulative_quote_qty: Decimal
    price: Decimal
    stop_price: Decimal
    time: datetime
    update_time: datetime
    margin_buy_borrow_amount: Decimal = Decimal(0)
    margin_buy_borrow_asset: str | None = None
    fills: tuple[Fill, ...] = ()
    order_list_id: int = -1


@dataclass(frozen=True)
class OrderList:
    """An OCO: two legs, one cancels the other."""

    order_list_id: int
    list_client_order_id: str
    symbol: str
    isolated: bool
    list_status: str  # EXEC_STARTED / ALL_DONE
    orders: tuple[Order, ...]
    margin_buy_borrow_amount: Decimal = Decimal(0)
    margin_buy_borrow_asset: str | None = None


@dataclass(frozen=True)
class Trade:
    """One fill of the account's trade history (Binance `myTrades`): what entry prices and P&L are built from."""

    trade_id: int
    order_id: int
    symbol: str
    isolated: bool
    side: Side
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: datetime
    is_maker: bool = False


@dataclass(frozen=True)
class LoanRecord:
    tx_id: int
    type: LoanType
    kind: str  # MANUAL / AUTO
    asset: str
    isolated_symbol: str | None
    amount: Decimal
    principal: Decimal
    interest: Decimal
    status: LoanStatus
    time: datetime


@dataclass(frozen=True)
class InterestRecord:
    tx_id: int
    time: datetime  # interestAccuredTime
    asset: str
    isolated_symbol: str | None
    principal: Decimal
    interest: Decimal
    daily_rate: Decimal  # Binance's `interestRate` field is the daily rate
    type: str  # ON_BORROW / PERIODIC


@dataclass(frozen=True)
class LiquidationRecord:
    order_id: int
    symbol: str
    isolated: bool
    side: Side
    qty: Decimal
    price: Decimal
    avg_price: Decimal
    fee: Decimal
    time: datetime


@dataclass(frozen=True)
class TransferRecord:
    tx_id: int
    asset: str
    amount: Decimal
    from_account: str  # SPOT | CROSS | ISOLATED:BTCUSDT
    to_account: str
    time: datetime


# ---------------------------------------------------------------------------- events


@dataclass(frozen=True)
class ExchangeEvent:
    """Something happened on the exchange that alerts may care about."""

    kind: str  # "price" | "fill" | "band" | "liquidation" | "liability" | "clock"
    time: datetime
    isolated_symbol: str | None = None
    data: dict[str, object] = field(default_factory=dict)


EventListener = Callable[[ExchangeEvent], Awaitable[None] | None]

SPOT = "SPOT"
CROSS = "CROSS"


def isolated_account(symbol: str) -> str:
    return f"ISOLATED:{symbol}"


def account_key(isolated_symbol: str | None) -> str:
    """How the desk's own records name an account: "cross", or the isolated pair's symbol."""
    return isolated_symbol or "cross"


def account_label(isolated_symbol: str | None) -> str:
    """How replies name an account: "cross", or "isolated BTCUSDT"."""
    return f"isolated {isolated_symbol}" if isolated_symbol else "cross"


def account_of_key(key: str) -> str | None:
    """The isolated symbol a record's account key names (None for "cross")."""
    return None if key == "cross" else key


# ---------------------------------------------------------------------------- the port


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

    def subscribe(self, listener: EventListener) -> None:
        """Register a listener for `ExchangeEvent`s (the paper engine pushes; live adapters poll)."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class DrillControls(Protocol):
    """Paper-only controls used by `/price` and `/clock` drills and by tests."""

    async def set_price(self, symbol: str, price: Decimal) -> None: ...

    async def advance(self, seconds: int) -> datetime: ...
