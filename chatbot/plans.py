"""Previews of leverage changes: what a borrow, repay, long, short or close would do to the account.

Pure functions over an `AccountSnapshot`: the balances after the action, margin level before →
after, band, liquidation price, interest per hour and day, notional and leverage. The same plan is
computed again with fresh prices right before execution, so a preview that no longer holds fails
instead of executing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from chatbot import margin
from chatbot.exchange import AccountSnapshot, AssetBalance, Side, SideEffect, SymbolInfo, account_label
from chatbot.margin import Balance, Band
from chatbot.money import ceil_to_step, floor_to_step

D0 = Decimal(0)
ONE_HOUR_INTEREST = 1


class PlanError(Exception):
    """The request cannot be done as asked (no position, nothing to repay …): one short line."""


@dataclass(frozen=True)
class OrderStep:
    symbol: str
    side: Side
    qty: Decimal
    side_effect: SideEffect
    type: str = "MARKET"  # MARKET | LIMIT | STOP_LOSS | TAKE_PROFIT | OCO
    price: Decimal | None = None  # LIMIT's price; an OCO's limit (take-profit) leg
    stop_price: Decimal | None = None  # STOP_LOSS / TAKE_PROFIT trigger; an OCO's stop leg


@dataclass(frozen=True)
class TransferStep:
    """Move `amount` of `asset` between wallets named as the port names them (SPOT, CROSS, ISOLATED:<pair>)."""

    asset: str
    amount: Decimal
    source: str
    target: str


@dataclass(frozen=True)
class CancelStep:
    """Cancel a resting order (a whole OCO when `list_id` is set)."""

    symbol: str
    order_id: int
    isolated: bool
    list_id: int = -1


@dataclass(frozen=True)
class Plan:
    """What will be sent (an order and/or a borrow/repay) and what the account looks like after."""

    command: str
    account: str | None  # isolated symbol or None for cross
    notional: Decimal  # USDT value moved or borrowed
    ml_before: Decimal
    ml_after: Decimal
    band_after: Band
    liquidation_price_after: Decimal  # of the account's main non-quote asset, 0 if none
    main_asset: str | None
    borrowed_after: dict[str, Decimal]
    interest_hour: Decimal  # USDT, all loans of the account after the action
    interest_day: Decimal
    leverage_after: Decimal | None  # None: no equity left
    new_borrow: dict[str, Decimal] = field(default_factory=dict)
    order: OrderStep | None = None
    borrow: tuple[str, Decimal] | None = None
    repay: tuple[str, Decimal] | None = None
    limits: tuple[str, ...] = ()
    transfer: TransferStep | None = None
    cancel: CancelStep | None = None
    repay_after: bool = False  # the repay is sent after the order (a partial close repaying in proportion)
    debt_before: bool = True  # whether the account owed anything before / after (∞ only without debt)
    debt_after: bool = True
    details: tuple[tuple[str, str], ...] = ()  # more preview lines (a transfer's other side)
    raises_risk: bool | None = None  # None: the command decides (`increases_risk`); set for transfers

    def preview(self) -> dict[str, str]:
        out = {
            "ml_before": str(self.ml_before), "ml_after": str(self.ml_after),
            "band_after": self.band_after.value, "notional": str(self.notional),
            "liquidation_price_after": str(self.liquidation_price_after),
            "interest_hour": str(self.interest_hour), "interest_day": str(self.interest_day),
            "leverage_after": "" if self.leverage_after is None else str(self.leverage_after),
        }
        if self.main_asset:
            out["main_asset"] = self.main_asset
        if self.details:
            out["details"] = "; ".join(f"{k}: {v}" for k, v in self.details)
        return out


def steps_of(plan: Plan) -> list[str]:
    """The exchange calls a plan makes, exactly (what a confirmation and an approval bind to)."""
    where = account_label(plan.account)
    steps = []
    if plan.transfer:
        t = plan.transfer
        steps.append(f"TRANSFER {t.amount} {t.asset} {t.source} → {t.target}")
    if plan.borrow:
        steps.append(f"BORROW {plan.borrow[1]} {plan.borrow[0]} ({where})")
    if plan.repay and plan.order is None:
        steps.append(f"REPAY {plan.repay[1]} {plan.repay[0]} ({where})")
    if plan.order:
        steps.append(f"{order_text(plan.order)} ({where})")
    if plan.repay and plan.order is not None and plan.repay_after:
        steps.append(f"REPAY {plan.repay[1]} {plan.repay[0]} ({where})")
    if plan.cancel:
        c = plan.cancel
        what = f"OCO list {c.list_id}" if c.list_id != -1 else f"order {c.order_id}"
        steps.append(f"CANCEL {what} {c.symbol} ({where})")
    return steps


def order_text(o: OrderStep) -> str:
    """How an order reads in a prompt and an approval: its exact parameters."""
    head = f"{o.side.value} {o.qty} {o.symbol}"
    if o.type == "MARKET":
        return f"MARKET {head} {o.side_effect.value}"
    if o.type == "LIMIT":
        return f"LIMIT {head} @ {o.price} {o.side_effect.value}"
    if o.type == "OCO":
        return f"OCO {head} limit {o.price} / stop {o.stop_price} {o.side_effect.value}"
    return f"{o.type} {head} trigger {o.stop_price} {o.side_effect.value}"


def book_of(snapshot: AccountSnapshot) -> dict[str, Balance]:
    """A what-if copy of an account's balances, per asset."""
    return {b.asset: Balance(b.free, b.locked, b.borrowed, b.interest) for b in snapshot.assets}


def _get(book: dict[str, Balance], asset: str) -> Balance:
    return book.setdefault(asset, Balance())


def _borrow(book: dict[str, Balance], asset: str, amount: Decimal, rate: Decimal) -> None:
    bal = _get(book, asset)
    bal.free += amount
    bal.borrowed += amount
    bal.interest += margin.interest_for_hours(amount, rate, ONE_HOUR_INTEREST)  # ON_BORROW


def _repay(book: dict[str, Balance], asset: str, amount: Decimal) -> None:
    bal = _get(book, asset)
    to_interest = min(amount, bal.interest)
    bal.interest -= to_interest
    bal.borrowed -= amount - to_interest
    bal.free -= amount


def margin_buy(book: dict[str, Balance], pay: str, paid: Decimal, got: str, received: Decimal,
                rates: dict[str, Decimal]) -> Decimal:
    """A MARGIN_BUY trade: borrow the shortfall of what is paid, then swap. Returns the shortfall."""
    bal = _get(book, pay)
    shortfall = max(D0, paid - bal.free)
    if shortfall:
        _borrow(book, pay, shortfall, rates.get(pay, D0))
    bal.free -= paid
    _get(book, got).free += received
    return shortfall


def _value(book: dict[str, Balance], prices: dict[str, Decimal]) -> tuple[Decimal, Decimal]:
    assets = sum(((b.free + b.locked) * prices.get(a, D0) for a, b in book.items()), D0)
    liab = sum(((b.borrowed + b.interest) * prices.get(a, D0) for a, b in book.items()), D0)
    return assets, liab


def exposures(book: dict[str, Balance], prices: dict[str, Decimal]) -> dict[str, Decimal]:
    """Gross exposure per asset (held + owed), in USDT: what `margin.main_asset` chooses by."""
    return {a: (b.free + b.locked + b.borrowed + b.interest) * prices.get(a, D0) for a, b in book.items()}


def price_at_level(book: dict[str, Balance], prices: dict[str, Decimal], asset: str,
                   level: Decimal) -> Decimal:
    """Price of `asset` (others fixed) at which the account's margin level equals `level`; 0 if never."""
    b = _get(book, asset)
    others = {a: x for a, x in book.items() if a != asset}
    other_assets, other_liab = _value(others, prices)
    return margin.price_for_level(level, b.free + b.locked, other_assets, b.borrowed + b.interest, other_liab)


def finish(command: str, snapshot: AccountSnapshot, book: dict[str, Balance], rates: dict[str, Decimal],
           quote: str, notional: Decimal, *, order: OrderStep | None = None, borrow: tuple[str, Decimal] | None = None,
           repay: tuple[str, Decimal] | None = None, new_borrow: dict[str, Decimal] | None = None,
           transfer: TransferStep | None = None, cancel: CancelStep | None = None, repay_after: bool = False,
           details: tuple[tuple[str, str], ...] = (), raises_risk: bool | None = None) -> Plan:
    """The plan for `book`, the account's balances after the action (valued at the snapshot's prices)."""
    prices = snapshot.prices
    assets, liab = _value(book, prices)
    ml_after = margin.margin_level(assets, liab)
    main = margin.main_asset(exposures(book, prices), quote)
    liq = price_at_level(book, prices, main, snapshot.thresholds.liquidation) if main else D0
    hour = margin.hourly_interest_value({a: b.borrowed for a, b in book.items()}, rates, prices)
    return Plan(
        command=command, account=snapshot.isolated_symbol, notional=notional,
        ml_before=snapshot.margin_level, ml_after=ml_after,
        band_after=margin.band_for(ml_after, snapshot.thresholds),
        liquidation_price_after=liq, main_asset=main,
        borrowed_after={a: b.borrowed for a, b in book.items() if b.borrowed > 0},
        interest_hour=hour, interest_day=hour * 24, leverage_after=margin.leverage(assets, liab),
        new_borrow=new_borrow or {}, order=order, borrow=borrow, repay=repay, transfer=transfer, cancel=cancel,
        repay_after=repay_after, debt_before=snapshot.total_liability_value > 0, debt_after=liab > 0,
        details=details, raises_risk=raises_risk,
    )


def plan_borrow(snapshot: AccountSnapshot, asset: str, amount: Decimal, rates: dict[str, Decimal],
                quote: str = "USDT") -> Plan:
    book = book_of(snapshot)
    _borrow(book, asset, amount, rates.get(asset, D0))
    notional = amount * snapshot.prices.get(asset, D0)
    return finish("borrow", snapshot, book, rates, quote, notional, borrow=(asset, amount),
                   new_borrow={asset: amount})


def repay_amount(snapshot: AccountSnapshot, asset: str, amount: Decimal | str) -> Decimal:
    bal: AssetBalance = snapshot.asset(asset)
    owed = bal.borrowed + bal.interest
    if owed <= 0:
        raise PlanError(f"Nothing to repay in {asset}.")
    value = owed if amount == "all" else Decimal(amount)
    if value > owed:
        raise PlanError(f"You owe {owed} {asset} (borrowed {bal.borrowed} + interest {bal.interest}); "
                        f"repay at most that.")
    if value > bal.free:
        raise PlanError(f"Only {bal.free} {asset} free to repay with; {value} needed.")
    return value


def plan_repay(snapshot: AccountSnapshot, asset: str, amount: Decimal | str, rates: dict[str, Decimal],
               quote: str = "USDT") -> Plan:
    value = repay_amount(snapshot, asset, amount)
    book = book_of(snapshot)
    _repay(book, asset, value)
    return finish("repay", snapshot, book, rates, quote, value * snapshot.prices.get(asset, D0),
                   repay=(asset, value))


def plan_open(command: str, snapshot: AccountSnapshot, info: SymbolInfo, qty: Decimal, fee: Decimal,
              rates: dict[str, Decimal]) -> Plan:
    """`long` (BUY, borrowing the quote shortfall) or `short` (borrow the base and SELL it)."""
    price = snapshot.prices.get(info.base, D0)
    if price <= 0:
        raise PlanError(f"No price for {info.symbol}.")
    if qty % info.step_size != 0:
        raise PlanError(f"Quantity must be a multiple of {info.step_size} for {info.symbol}.")
    notional = qty * price
    if qty < info.min_qty or notional < info.min_notional:
        raise PlanError(f"Order too small: minimum {info.min_qty} {info.base} and {info.min_notional} "
                        f"{info.quote} notional.")
    book = book_of(snapshot)
    if command == "long":
        side, pay, paid, got, received = Side.BUY, info.quote, notional, info.base, qty * (1 - fee)
    else:
        side, pay, paid, got, received = Side.SELL, info.base, qty, info.quote, notional * (1 - fee)
    shortfall = margin_buy(book, pay, paid, got, received, rates)
    borrowed = {pay: shortfall} if shortfall else {}
    return finish(command, snapshot, book, rates, info.quote, notional,
                   order=OrderStep(info.symbol, side, qty, SideEffect.MARGIN_BUY), new_borrow=borrowed)


def plan_close(snapshot: AccountSnapshot, info: SymbolInfo, fee: Decimal, rates: dict[str, Decimal]) -> Plan:
    """Buy back a short (enough to repay base loan and interest after fees) or sell out a long."""
    price = snapshot.prices.get(info.base, D0)
    book = book_of(snapshot)
    base = _get(book, info.base)
    owed = base.borrowed + base.interest
    if owed > base.free:  # short: buy what is owed beyond what we hold, fees on top
        need = (owed - base.free) / (1 - fee)
        qty = ceil_to_step(need, info.step_size)
        qty = max(qty, info.min_qty)
        _get(book, info.quote).free -= qty * price
        base.free += qty * (1 - fee)
        _repay(book, info.base, owed)
        side = Side.BUY
    elif base.free > owed and base.free - owed >= info.min_qty:  # long: sell out what is ours
        if owed > 0:
            _repay(book, info.base, owed)
        qty = floor_to_step(base.free, info.step_size)
        base.free -= qty
        quote = _get(book, info.quote)
        proceeds = qty * price * (1 - fee)
        quote.free += proceeds
        quote_owed = quote.borrowed + quote.interest
        if quote_owed > 0:
            _repay(book, info.quote, min(proceeds, quote_owed))
        side = Side.SELL
    else:
        raise PlanError(f"No {info.base} position to close in this account.")
    if qty * price < info.min_notional:
        raise PlanError(f"The position is below the {info.min_notional} {info.quote} minimum order size.")
    return finish("close", snapshot, book, rates, info.quote, qty * price,
                   order=OrderStep(info.symbol, side, qty, SideEffect.AUTO_REPAY))
