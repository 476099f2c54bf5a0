"""The exchange port's value types: enumerations, balances, snapshots, orders, records, account names.

Everything the core and the adapters exchange about a margin account, in Decimal; frozen dataclasses,
so a value read from an exchange can be passed around without being changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from chatbot.margin import BalanceFigures, Band, Thresholds


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


@dataclass(frozen=True)
class SymbolInfo:
    symbol: str
    base: str
    quote: str
    step_size: Decimal
    tick_size: Decimal
    min_qty: Decimal
    min_notional: Decimal


@dataclass(frozen=True, slots=True)  # no __dict__: a monitor cycle holds 10,000s of them
class AssetBalance(BalanceFigures):
    """One asset's balance as the exchange reports it (total, liability, net from `BalanceFigures`)."""

    asset: str
    free: Decimal
    locked: Decimal
    borrowed: Decimal
    interest: Decimal


@dataclass(frozen=True, slots=True)  # no __dict__: a monitor cycle holds 10,000s of them
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
