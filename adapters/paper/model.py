"""Mutable in-memory state of the paper exchange, and the conversions to the port's value types.

The books (`ledger.Books` and the layers composed into `engine.PaperBook`) own instances of these
classes and mutate them; the store (`store.py`) writes them to the `paper_*` tables and reads them
back. Keeping them in one small module lets both sides agree on the shape without the store
importing accounting logic. Times are integer
milliseconds of the paper clock (UTC); money is `Decimal`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chatbot import margin
from chatbot.config import PaperConfig, SymbolConfig
from chatbot.exchange import (
    AssetBalance,
    Fill,
    InterestRecord,
    LiquidationRecord,
    LoanRecord,
    LoanStatus,
    LoanType,
    Order,
    OrderList,
    OrderStatus,
    OrderType,
    Side,
    SideEffect,
    SymbolInfo,
    TransferRecord,
)
from chatbot.margin import Band, Thresholds
from chatbot.money import D0, D1

HOUR_MS = 3_600_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
VALUATION_ASSET = "USDT"  # [choice] every value (ML, totals) is in USDT, as Binance's *InUSDT fields
KNOWN_QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "DAI", "BTC", "ETH", "BNB", "EUR", "TRY")
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,36}$")


def ms_to_dt(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def dt_to_ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def hour_floor(ms: int) -> int:
    return ms - ms % HOUR_MS


# ---------------------------------------------------------------------------- symbols


def build_symbols(config: PaperConfig) -> dict[str, SymbolInfo]:
    """Configured symbols, plus every priced symbol with its base/quote inferred [choice]."""
    out: dict[str, SymbolInfo] = {}
    for name, sc in config.symbols.items():
        sym = name.upper()
        out[sym] = SymbolInfo(sym, sc.base.upper(), sc.quote.upper(), sc.step_size, sc.tick_size,
                              sc.min_qty, sc.min_notional)
    defaults = SymbolConfig(base="X", quote="Y")
    for name in config.prices:
        sym = name.upper()
        if sym in out:
            continue
        quote = next((q for q in KNOWN_QUOTES if sym.endswith(q) and len(sym) > len(q)), None)
        if quote is None:
            raise ValueError(f"paper: cannot tell base and quote of {sym}; add it under [paper.symbols]")
        out[sym] = SymbolInfo(sym, sym[: -len(quote)], quote, defaults.step_size, defaults.tick_size,
                              defaults.min_qty, defaults.min_notional)
    return out


def resolve_asset_prices(symbols: dict[str, SymbolInfo], prices: dict[str, Decimal]) -> dict[str, Decimal]:
    """USDT price of every asset reachable from USDT through priced symbols (direct pairs first)."""
    out = {VALUATION_ASSET: D1}
    order = sorted(prices, key=lambda s: (symbols[s].quote != VALUATION_ASSET, s))
    changed = True
    while changed:
        changed = False
        for sym in order:
            info, price = symbols[sym], prices[sym]
            if info.quote in out and info.base not in out:
                out[info.base] = price * out[info.quote]
                changed = True
            elif info.base in out and info.quote not in out:
                out[info.quote] = out[info.base] / price
                changed = True
    return out


# ---------------------------------------------------------------------------- balances


@dataclass(slots=True)
class Balance(margin.Balance):
    """A ledger balance: the core's working balance, plus how the port and the database see it."""

    shown: AssetBalance | None = field(default=None, compare=False, repr=False)  # the last `value()`

    def value(self, asset: str) -> AssetBalance:
        """As the port sees it. The last answer is kept and given again while the figures are the very same
        objects (every change assigns a new Decimal): a monitor cycle over 10,000 accounts after a price
        tick re-values them but builds no balance again."""
        last = self.shown
        if (last is not None and last.free is self.free and last.locked is self.locked
                and last.borrowed is self.borrowed and last.interest is self.interest and last.asset == asset):
            return last
        self.shown = AssetBalance(asset, self.free, self.locked, self.borrowed, self.interest)
        return self.shown

    def as_tuple(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        return (self.free, self.locked, self.borrowed, self.interest)


@dataclass(slots=True)
class MarginAccount:
    """The cross account (`CROSS`), an isolated pair (`ISOLATED:BTCUSDT`), or the spot wallet."""

    key: str
    isolated_symbol: str | None
    thresholds: Thresholds
    balances: dict[str, Balance] = field(default_factory=dict)
    band: Band = Band.EXCESSIVE
    locked: bool = False
    created_ms: int = 0
    pending_tx: int | None = None  # async loan waiting for the next tick (-3007 meanwhile)
    shown: tuple[AssetBalance, ...] = field(default=(), compare=False, repr=False)  # the last `assets()`

    def has_debt(self) -> bool:
        return any(b.borrowed > 0 or b.interest > 0 for b in self.balances.values())

    def assets(self) -> tuple[AssetBalance, ...]:
        """Its balances as the port sees them, by asset; the last answer again while every balance gives the
        same value (`Balance.value`) and none came or went."""
        last, balances = self.shown, self.balances
        if len(last) == len(balances) and all(a.asset in balances and balances[a.asset].value(a.asset) is a
                                              for a in last):
            return last
        self.shown = tuple(b.value(a) for a, b in sorted(balances.items()))
        return self.shown


# ---------------------------------------------------------------------------- orders


@dataclass(slots=True)
class Reservation:
    """What an order (or both legs of an OCO) holds: locked funds and any MARGIN_BUY borrow."""

    account: str
    asset: str
    amount: Decimal  # still locked
    borrow_amount: Decimal = D0
    borrow_asset: str | None = None
    auto_repay_at_cancel: bool = True
    used: bool = False  # a fill consumed it: no auto-repay at cancel


@dataclass(slots=True)
class OrderState:
    order_id: int
    client_order_id: str
    symbol: str
    account: str
    isolated: bool
    side: Side
    type: OrderType
    status: OrderStatus
    time_in_force: str
    orig_qty: Decimal
    price: Decimal
    stop_price: Decimal
    side_effect: SideEffect
    time_ms: int
    update_ms: int
    executed_qty: Decimal = D0
    cummulative_quote_qty: Decimal = D0
    quote_order_qty: Decimal | None = None
    working: bool = True  # False for a stop order not yet triggered
    order_list_id: int = -1
    margin_buy_borrow_amount: Decimal = D0
    margin_buy_borrow_asset: str | None = None
    reservation: Reservation | None = None  # None for OCO legs (the list holds it)
    fills: list[Fill] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)

    def to_order(self) -> Order:
        return Order(
            order_id=self.order_id, client_order_id=self.client_order_id, symbol=self.symbol,
            isolated=self.isolated, side=self.side, type=self.type, status=self.status,
            orig_qty=self.orig_qty, executed_qty=self.executed_qty,
            cummulative_quote_qty=self.cummulative_quote_qty, price=self.price,
            stop_price=self.stop_price, time=ms_to_dt(self.time_ms), update_time=ms_to_dt(self.update_ms),
            margin_buy_borrow_amount=self.margin_buy_borrow_amount,
            margin_buy_borrow_asset=self.margin_buy_borrow_asset, fills=tuple(self.fills),
            order_list_id=self.order_list_id,
        )


@dataclass(slots=True)
class OrderListState:
    order_list_id: int
    list_client_order_id: str
    symbol: str
    account: str
    isolated: bool
    side: Side
    status: str  # EXEC_STARTED / ALL_DONE
    order_ids: tuple[int, int]
    reservation: Reservation
    time_ms: int
    margin_buy_borrow_amount: Decimal = D0
    margin_buy_borrow_asset: str | None = None

    def to_order_list(self, orders: dict[int, OrderState]) -> OrderList:
        return OrderList(
            order_list_id=self.order_list_id, list_client_order_id=self.list_client_order_id,
            symbol=self.symbol, isolated=self.isolated, list_status=self.status,
            orders=tuple(orders[i].to_order() for i in self.order_ids),
            margin_buy_borrow_amount=self.margin_buy_borrow_amount,
            margin_buy_borrow_asset=self.margin_buy_borrow_asset,
        )


# ---------------------------------------------------------------------------- records


@dataclass(slots=True)
class TradeRow:
    trade_id: int
    order_id: int
    symbol: str
    account: str
    side: Side
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    is_maker: bool
    time_ms: int


@dataclass(slots=True)
class LoanRow:
    tx_id: int
    type: LoanType
    kind: str  # MANUAL / AUTO / LIQUIDATION
    account: str
    asset: str
    isolated_symbol: str | None
    amount: Decimal
    principal: Decimal
    interest: Decimal
    status: LoanStatus
    time_ms: int

    def to_record(self) -> LoanRecord:
        return LoanRecord(self.tx_id, self.type, self.kind, self.asset, self.isolated_symbol, self.amount,
                          self.principal, self.interest, self.status, ms_to_dt(self.time_ms))


@dataclass(slots=True)
class InterestRow:
    tx_id: int
    account: str
    asset: str
    isolated_symbol: str | None
    time_ms: int  # the hour it belongs to (ON_BORROW floored to the hour)
    principal: Decimal
    interest: Decimal
    daily_rate: Decimal
    type: str  # ON_BORROW / PERIODIC

    def to_record(self) -> InterestRecord:
        return InterestRecord(self.tx_id, ms_to_dt(self.time_ms), self.asset, self.isolated_symbol,
                              self.principal, self.interest, self.daily_rate, self.type)


@dataclass(slots=True)
class LiquidationRow:
    order_id: int
    account: str
    symbol: str
    isolated: bool
    side: Side
    qty: Decimal
    price: Decimal
    avg_price: Decimal
    fee: Decimal
    fee_asset: str  # the asset the proceeds (and so the fee) are in
    time_ms: int

    def to_record(self) -> LiquidationRecord:
        return LiquidationRecord(self.order_id, self.symbol, self.isolated, self.side, self.qty, self.price,
                                 self.avg_price, self.fee, ms_to_dt(self.time_ms))


@dataclass(slots=True)
class TransferRow:
    tx_id: int
    asset: str
    amount: Decimal
    from_account: str
    to_account: str
    time_ms: int

    def to_record(self) -> TransferRecord:
        return TransferRecord(self.tx_id, self.asset, self.amount, self.from_account, self.to_account,
                              ms_to_dt(self.time_ms))
