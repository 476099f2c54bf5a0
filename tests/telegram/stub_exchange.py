"""A tiny in-memory cross-margin exchange: just enough of the `Exchange` port for the adapter tests.

Why a stub and not the paper exchange: `adapters/paper` was still being written when these tests were
(its `open()` signature and migration were changing). The Telegram tests only need /status and
borrows to behave plausibly and to count exchange calls; switch `tests/telegram/desk.py` to
`PaperExchange` once it is stable. Prices and rates are fixed; interest never accrues.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from chatbot import margin
from chatbot.exchange import (
    AccountSnapshot,
    AssetBalance,
    EventListener,
    ExchangeError,
    InterestRecord,
    LoanRecord,
    LoanStatus,
    LoanType,
    Order,
    OrderRequest,
    SymbolInfo,
)

D0 = Decimal(0)


class StubExchange:
    name = "stub"

    def __init__(self, usdt: Decimal = Decimal("20000"), btc_price: Decimal = Decimal("35000")) -> None:
        self.prices_by_asset = {"USDT": Decimal(1), "BTC": btc_price}
        self.free: dict[str, Decimal] = {"USDT": usdt, "BTC": D0}
        self.borrowed: dict[str, Decimal] = {"USDT": D0, "BTC": D0}
        self.thresholds = margin.Thresholds.cross(3)
        self.calls: Counter[str] = Counter()
        self.loans: list[LoanRecord] = []
        self.clock = datetime(2024, 1, 1, tzinfo=UTC)

    async def now(self) -> datetime:
        return self.clock

    async def symbols(self) -> dict[str, SymbolInfo]:
        return {"BTCUSDT": SymbolInfo("BTCUSDT", "BTC", "USDT", Decimal("0.00001"), Decimal("0.01"),
                                      Decimal("0.00001"), Decimal("5"))}

    async def prices(self) -> dict[str, Decimal]:
        return {"BTCUSDT": self.prices_by_asset["BTC"]}

    async def daily_interest_rates(self, isolated_symbol: str | None = None) -> dict[str, Decimal]:
        return {"BTC": Decimal("0.00024"), "USDT": Decimal("0.00024")}

    async def trade_fee(self, symbol: str) -> Decimal:
        return Decimal("0.001")

    def _values(self) -> tuple[Decimal, Decimal]:
        p = self.prices_by_asset
        return (sum((v * p[a] for a, v in self.free.items()), D0),
                sum((v * p[a] for a, v in self.borrowed.items()), D0))

    async def account(self, isolated_symbol: str | None = None) -> AccountSnapshot:
        self.calls["account"] += 1
        assets, liabilities = self._values()
        level = margin.margin_level(assets, liabilities)
        balances = tuple(AssetBalance(a, self.free[a], D0, self.borrowed[a], D0) for a in sorted(self.free))
        return AccountSnapshot(None, balances, dict(self.prices_by_asset), assets, liabilities, level,
                               margin.band_for(level, self.thresholds), self.thresholds, False, self.clock)

    async def isolated_symbols(self) -> list[str]:
        return []

    async def max_borrowable(self, asset: str, isolated_symbol: str | None = None) -> Decimal:
        assets, liabilities = self._values()
        return margin.max_borrowable(assets, liabilities, self.thresholds.initial, self.prices_by_asset[asset])

    async def max_transferable(self, asset: str, isolated_symbol: str | None = None) -> Decimal:
        return self.free.get(asset, D0)

    async def borrow(self, asset: str, amount: Decimal, isolated_symbol: str | None = None) -> int:
        self.calls["borrow"] += 1
        if amount > await self.max_borrowable(asset):
            raise ExchangeError(-3006, "Your borrow amount has exceed maximum borrow amount.")
        self.free[asset] += amount
        self.borrowed[asset] += amount
        self.loans.append(LoanRecord(len(self.loans) + 1, LoanType.BORROW, "MANUAL", asset, None, amount, amount,
                                     D0, LoanStatus.CONFIRMED, self.clock))
        return len(self.loans)

    async def repay(self, asset: str, amount: Decimal, isolated_symbol: str | None = None) -> int:
        self.calls["repay"] += 1
        amount = min(amount, self.borrowed[asset])
        self.free[asset] -= amount
        self.borrowed[asset] -= amount
        return len(self.loans) + 1

    async def loan_records(self, type: LoanType, *, asset: str | None = None, isolated_symbol: str | None = None,
                           tx_id: int | None = None, start: datetime | None = None,
                           end: datetime | None = None) -> list[LoanRecord]:
        return [r for r in self.loans if r.type is type and (asset is None or r.asset == asset)]

    async def place_order(self, request: OrderRequest) -> Order:
        self.calls["place_order"] += 1
        raise ExchangeError(-1013, "orders are not supported by the test stub")

    async def get_order(self, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None,
                        isolated: bool = False) -> Order:
        raise ExchangeError(-2013, "Order does not exist.")

    async def open_orders(self, symbol: str | None = None, isolated: bool = False) -> list[Order]:
        return []

    async def interest_history(self, *, asset: str | None = None, isolated_symbol: str | None = None,
                               start: datetime | None = None, end: datetime | None = None) -> list[InterestRecord]:
        return []

    def subscribe(self, listener: EventListener) -> None:
        pass

    async def close(self) -> None:
        pass


class StubPaperExchange(StubExchange):
    """The stub with the paper drill controls, so the core believes it is on paper (`core.paper`)."""

    async def set_price(self, symbol: str, price: Decimal) -> None:
        self.prices_by_asset[symbol.removesuffix("USDT")] = price

    async def advance(self, seconds: int) -> datetime:
        return self.clock
