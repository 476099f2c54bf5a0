"""Binance's request rules as pure functions: error codes, amount and filter checks, trigger conditions.

Why a module of its own: these rules read no state, yet loans, transfers, orders and triggers all
apply them, so they sit below every part of the books (and `feeds.py` shares the tick rounding with
price updates). Codes and messages are Binance's own (`shared/reference/binance-margin.md` §4), so
clients can match on them; keeping each message once keeps them from drifting apart.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

from chatbot.exchange import ExchangeError, OrderType, Side, SideEffect, SymbolInfo, isolated_account
from chatbot.money import q8

from .model import MarginAccount

ISOLATED_PREFIX = isolated_account("")
LIMIT_TYPES = (OrderType.LIMIT, OrderType.LIMIT_MAKER, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT)
STOP_TYPES = (OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT,
              OrderType.TAKE_PROFIT_LIMIT)
BORROWING = (SideEffect.MARGIN_BUY, SideEffect.AUTO_BORROW_REPAY)
REPAYING = (SideEffect.AUTO_REPAY, SideEffect.AUTO_BORROW_REPAY)

MSG_INSUFFICIENT = "Account has insufficient balance for requested action."
MSG_LOCKED = "You can't transfer out/place order under current margin level."
MSG_PENDING = "You have pending transaction, please try again later."
MSG_NO_ACCOUNT = "Margin account does not exist."
MSG_BALANCE = "Balance is not enough"
MSG_UNKNOWN_ORDER = "Unknown order sent."
MSG_NO_ORDER = "Order does not exist."


def err(code: int, msg: str) -> ExchangeError:
    return ExchangeError(code, msg)


def missing(name: str) -> ExchangeError:
    """-1102: a mandatory parameter absent or malformed."""
    return err(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def not_margin_asset() -> ExchangeError:
    return err(-3027, "Not a valid margin asset.")


# ---------------------------------------------------------------------------- numbers


def ceil_to_step(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_UP) * step


def on_step(value: Decimal, step: Decimal) -> bool:
    return step <= 0 or (value / step) == (value / step).to_integral_value()


def to_tick(price: Decimal, tick: Decimal) -> Decimal:
    """An index price rounded (half up) to tickSize, never below one tick."""
    if tick <= 0:
        return price
    return max(tick, price.quantize(tick, rounding=ROUND_HALF_UP))


def check_amount(amount: Decimal, name: str = "amount") -> Decimal:
    """A positive, finite Decimal with at most 8 decimals (else -1102 / -1111)."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise missing(name)
    if amount != q8(amount, ROUND_DOWN):
        raise err(-1111, "Precision is over the maximum defined for this asset.")
    return amount


def check_unlocked(*accts: MarginAccount) -> None:
    """-3023 while an account is being liquidated."""
    for acct in accts:
        if acct.locked:
            raise err(-3023, MSG_LOCKED)


# ---------------------------------------------------------------------------- symbol filters


def filter_qty(info: SymbolInfo, qty: Decimal) -> None:
    if not qty.is_finite() or qty <= 0 or qty < info.min_qty or not on_step(qty, info.step_size):
        raise err(-1013, "Filter failure: LOT_SIZE")


def filter_price(info: SymbolInfo, price: Decimal) -> None:
    if not price.is_finite() or price <= 0 or not on_step(price, info.tick_size):
        raise err(-1013, "Filter failure: PRICE_FILTER")


def price_param(info: SymbolInfo, value: Decimal | None, name: str) -> Decimal:
    """A price parameter the order type requires: present (-1102) and on the tick (-1013)."""
    if value is None:
        raise missing(name)
    filter_price(info, value)
    return value


def filter_notional(info: SymbolInfo, notional: Decimal) -> None:
    if notional < info.min_notional:
        raise err(-1013, "Filter failure: NOTIONAL")


# ---------------------------------------------------------------------------- triggers


def stop_triggered(otype: OrderType, side: Side, stop: Decimal, price: Decimal) -> bool:
    """Whether a stop-loss / take-profit order at `stop` fires at index `price`."""
    loss = otype in (OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT)
    if side == Side.SELL:
        return price <= stop if loss else price >= stop
    return price >= stop if loss else price <= stop


def crosses(side: Side, limit: Decimal, price: Decimal) -> bool:
    """Whether a limit at `limit` is marketable at index `price`."""
    return price <= limit if side == Side.BUY else price >= limit
