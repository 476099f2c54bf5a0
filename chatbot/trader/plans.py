"""Previews of the trader's leverage changes: transfers, partial closes, resting orders, OCOs, cancels.

Why it exists: these go through the same pending-action path as a borrow or a long (preview, confirm,
approval by policy, a fresh preview at execution, intents), so each is a pure function from account
snapshots to a `chatbot.plans.Plan` with its exact exchange calls. Built on the same balance book as
`chatbot.plans`, so every margin level shown is computed the same way.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from chatbot import margin
from chatbot.display import level
from chatbot.exchange import CROSS, SPOT, AccountSnapshot, Order, Side, SideEffect, SymbolInfo, isolated_account
from chatbot.margin import Balance
from chatbot.money import D0, EIGHT_DP, ceil_to_step, floor_to_step, fmt, fmt_amount
from chatbot.plans import (
    CancelStep,
    OrderStep,
    Plan,
    PlanError,
    TransferStep,
    _get,
    _repay,
    _value,
    book_of,
    finish,
    margin_buy,
    plan_close,
)

ORDER_TYPES = {"limit": "LIMIT", "stop": "STOP_LOSS", "tp": "TAKE_PROFIT"}


def wallet(name: str, symbols: dict[str, SymbolInfo]) -> str:
    """`spot`, `cross` or a pair's isolated account (`BTCUSDT`) → the port's wallet name."""
    low = name.lower()
    if low in ("spot", "cross"):
        return low.upper()
    if name.upper() in symbols:
        return isolated_account(name.upper())
    raise PlanError(f"'{name[:20]}' is not spot, cross or a pair like BTCUSDT.")


def wallet_label(name: str) -> str:
    return name.lower() if name in (SPOT, CROSS) else f"isolated {name.split(':', 1)[1]}"


def _level_after(snap: AccountSnapshot, asset: str, delta: Decimal) -> tuple[Decimal, bool]:
    """A margin account's level after `delta` of `asset` moves in (+) or out (−), and whether it owes."""
    book = book_of(snap)
    _get(book, asset).free += delta
    assets, liab = _value(book, snap.prices)
    return margin.margin_level(assets, liab), liab > 0


def plan_transfer(asset: str, amount: Decimal, source: str, target: str, *, source_snap: AccountSnapshot | None,
                  target_snap: AccountSnapshot | None, available: Decimal, rates: dict[str, Decimal]) -> Plan:
    """Move collateral. The side that loses it carries the preview's margin level (and the risk)."""
    if source == target:
        raise PlanError("FROM and TO are the same account.")
    if amount > available:
        raise PlanError(f"Max transferable from {wallet_label(source)} now is {fmt_amount(available)} {asset}.")
    step = TransferStep(asset, amount, source, target)
    details: list[tuple[str, str]] = []
    for label, snap, sign in ((wallet_label(source), source_snap, -1), (wallet_label(target), target_snap, 1)):
        if snap is None:
            continue
        after, debt = _level_after(snap, asset, sign * amount)
        before = level(snap.margin_level, snap.total_liability_value > 0)
        details.append((f"{label[:1].upper()}{label[1:]} margin level", f"{before} → {level(after, debt)}"))
    details.append((f"Max from {wallet_label(source)}", f"{fmt_amount(available)} {asset}"))
    shown = source_snap if source_snap is not None else target_snap
    if shown is None:
        raise PlanError("A transfer needs a margin account on one side (spot, cross or a pair).")
    book = book_of(shown)
    _get(book, asset).free += amount if shown is target_snap else -amount
    price = shown.prices.get(asset, D0)
    return finish("transfer", shown, book, rates, "USDT", amount * price, transfer=step, details=tuple(details),
                   raises_risk=source_snap is not None)


def _position(snap: AccountSnapshot, info: SymbolInfo) -> Decimal:
    """Net base position of the account (+ long, − short), interest owed included."""
    bal = snap.asset(info.base)
    return bal.free + bal.locked - bal.borrowed - bal.interest


def plan_partial_close(snap: AccountSnapshot, info: SymbolInfo, fee: Decimal, rates: dict[str, Decimal],
                       qty: Decimal | None, pct: Decimal | None) -> Plan:
    """Close QTY or N% of a position, repaying in proportion; all of it is `/close SYMBOL`."""
    position = _position(snap, info)
    if position == 0:
        raise PlanError(f"No {info.base} position to close in this account.")
    size = abs(position)
    if pct is not None:
        if pct <= 0 or pct > 100:
            raise PlanError("N% must be more than 0 and at most 100.")
        if pct == 100:
            return plan_close(snap, info, fee, rates)
        part = size * pct / 100
    else:
        assert qty is not None
        part = qty
        if part >= size:
            raise PlanError(f"The position is {size.normalize():f} {info.base}; close it all with "
                            f"/close {info.symbol}.")
    price = snap.prices.get(info.base, D0)
    book = book_of(snap)
    base = _get(book, info.base)
    if position < 0:  # short: buy back the part (fees on top), the buy repays its share of the loan
        gross = part / (1 - fee) if qty is None else part
        amount = ceil_to_step(gross, info.step_size)
        _get(book, info.quote).free -= amount * price
        received = amount * (1 - fee)
        base.free += received
        _repay(book, info.base, min(received, base.borrowed + base.interest))
        order = OrderStep(info.symbol, Side.BUY, amount, SideEffect.AUTO_REPAY)
        repay = None
    else:  # long: sell the part, then repay the same share of the quote loan
        amount = floor_to_step(part, info.step_size)
        base.free -= amount
        quote = _get(book, info.quote)
        quote.free += amount * price * (1 - fee)
        owed = quote.borrowed + quote.interest
        share = (owed * amount / size).quantize(EIGHT_DP, rounding=ROUND_DOWN) if owed > 0 else D0
        share = min(share, quote.free)
        repay = (info.quote, share) if share > 0 else None
        if repay:
            _repay(book, info.quote, share)
        order = OrderStep(info.symbol, Side.SELL, amount, SideEffect.NO_SIDE_EFFECT)
    if amount <= 0 or amount < info.min_qty or amount * price < info.min_notional:
        raise PlanError(f"Too small to close: minimum {info.min_qty.normalize():f} {info.base} and "
                        f"{info.min_notional.normalize():f} {info.quote}.")
    return finish("close", snap, book, rates, info.quote, amount * price, order=order, repay=repay,
                   repay_after=repay is not None)


def side_effect_for(snap: AccountSnapshot, info: SymbolInfo, side: Side) -> SideEffect:
    """An order that reduces the position repays as it fills; one that opens or adds borrows the shortfall."""
    position = _position(snap, info)
    reducing = (side is Side.SELL and position > 0) or (side is Side.BUY and position < 0)
    return SideEffect.AUTO_REPAY if reducing else SideEffect.MARGIN_BUY


def _filled_book(snap: AccountSnapshot, info: SymbolInfo, side: Side, qty: Decimal, at: Decimal, fee: Decimal,
                 rates: dict[str, Decimal]) -> tuple[dict[str, Balance], Decimal]:
    book = book_of(snap)
    if side is Side.BUY:
        margin_buy(book, info.quote, qty * at, info.base, qty * (1 - fee), rates)
    else:
        margin_buy(book, info.base, qty, info.quote, qty * at * (1 - fee), rates)
    return book, qty * at


def plan_order(snap: AccountSnapshot, info: SymbolInfo, side: Side, qty: Decimal, kind: str, price: Decimal,
               fee: Decimal, rates: dict[str, Decimal]) -> Plan:
    """A resting LIMIT, STOP_LOSS or TAKE_PROFIT order; the preview is the account if it fills at `price`."""
    now = snap.prices.get(info.base, D0)
    order_type = ORDER_TYPES[kind]
    _check_qty(info, qty, price)
    if order_type == "STOP_LOSS" and ((side is Side.SELL and price >= now) or (side is Side.BUY and price <= now)):
        raise PlanError(f"A {side.value.lower()} stop must be {'below' if side is Side.SELL else 'above'} the "
                        f"price now ({fmt(now)}).")
    if order_type == "TAKE_PROFIT" and ((side is Side.SELL and price <= now) or (side is Side.BUY and price >= now)):
        raise PlanError(f"A {side.value.lower()} take-profit must be {'above' if side is Side.SELL else 'below'} "
                        f"the price now ({fmt(now)}).")
    effect = side_effect_for(snap, info, side)
    book, notional = _filled_book(snap, info, side, qty, price, fee, rates)
    step = OrderStep(info.symbol, side, qty, effect, order_type,
                     price if order_type == "LIMIT" else None, None if order_type == "LIMIT" else price)
    return finish("order", snap, book, rates, info.quote, notional, order=step,
                   raises_risk=effect is SideEffect.MARGIN_BUY,
                   details=(("Preview", f"as if it filled at {fmt(price)}"),))


def plan_oco(snap: AccountSnapshot, info: SymbolInfo, side: Side, qty: Decimal, limit: Decimal, stop: Decimal,
             fee: Decimal, rates: dict[str, Decimal]) -> Plan:
    """Take profit at `limit` or stop at `stop`, whichever comes first (one cancels the other)."""
    now = snap.prices.get(info.base, D0)
    ok = limit > now > stop if side is Side.SELL else limit < now < stop
    if not ok:
        order = "TP above and STOP below" if side is Side.SELL else "TP below and STOP above"
        raise PlanError(f"For a {side.value.lower()} OCO put {order} the price now ({fmt(now)}).")
    _check_qty(info, qty, min(limit, stop))
    effect = side_effect_for(snap, info, side)
    book, notional = _filled_book(snap, info, side, qty, limit, fee, rates)
    step = OrderStep(info.symbol, side, qty, effect, "OCO", limit, stop)
    return finish("oco", snap, book, rates, info.quote, notional, order=step,
                   raises_risk=effect is SideEffect.MARGIN_BUY,
                   details=(("Preview", f"as if the take-profit filled at {fmt(limit)}"),))


def plan_cancel(snap: AccountSnapshot, order: Order, rates: dict[str, Decimal]) -> Plan:
    """Cancelling changes no balance now (a cancelled MARGIN_BUY repays what it borrowed)."""
    price = order.price or order.stop_price
    return finish("cancelorder", snap, book_of(snap), rates, "USDT", order.orig_qty * price,
                   cancel=CancelStep(order.symbol, order.order_id, order.isolated, order.order_list_id),
                   raises_risk=False)


def _check_qty(info: SymbolInfo, qty: Decimal, price: Decimal) -> None:
    if qty % info.step_size != 0:
        raise PlanError(f"Quantity must be a multiple of {info.step_size.normalize():f} for {info.symbol}.")
    if qty < info.min_qty or qty * price < info.min_notional:
        raise PlanError(f"Order too small: minimum {info.min_qty.normalize():f} {info.base} and "
                        f"{info.min_notional.normalize():f} {info.quote} notional.")
