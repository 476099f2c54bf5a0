"""The trader's commands that move money, previewed from the exchange's current state.

Why it exists: `chatbot.flows.proposals.plan_for` previews every leverage change, and again with fresh
prices right before execution; for `/transfer`, a partial `/close`, `/order`, `/oco` and `/cancelorder`
it asks `plan_trader` here, which reads what the preview needs (both sides of a transfer and what may
leave the source, the position, the order being cancelled) and calls the pure previews in
`chatbot.trader.plans`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chatbot import margin
from chatbot.exchange import SPOT, AccountSnapshot, Order, Side
from chatbot.margin import Band, Thresholds
from chatbot.plans import Plan, PlanError
from chatbot.services import Services
from chatbot.trader.plans import plan_cancel, plan_oco, plan_order, plan_partial_close, plan_transfer, wallet

TRADER_COMMANDS = ("transfer", "order", "oco", "cancelorder")


def is_trader_plan(command: str, a: dict[str, Any]) -> bool:
    return command in TRADER_COMMANDS or (command == "close" and bool(a.get("qty")))


def iso_of_wallet(name: str) -> str | None:
    return name.split(":", 1)[1] if name.startswith("ISOLATED:") else None


async def _margin_side(svc: Services, name: str, *, creating: bool) -> AccountSnapshot | None:
    """The snapshot of a margin wallet (None for spot, or an isolated account a transfer in would create)."""
    if name == SPOT:
        return None
    iso = iso_of_wallet(name)
    if iso is not None and iso not in await svc.exchange.isolated_symbols():
        if creating:
            return None
        raise PlanError(f"There is no isolated {iso} margin account yet.")
    return await svc.exchange.account(iso)


async def _new_isolated(svc: Services, symbol: str) -> AccountSnapshot:
    """The empty isolated account a first transfer creates (its bars are the exchange's default tier)."""
    info = svc.market.symbols[symbol]
    price = (await svc.exchange.prices()).get(symbol, Decimal(0))
    return AccountSnapshot(symbol, (), {info.base: price, info.quote: Decimal(1)}, Decimal(0), Decimal(0),
                           margin.NO_DEBT_LEVEL, Band.EXCESSIVE, Thresholds.isolated_for_leverage(10), False,
                           await svc.exchange.now())


async def plan_trader(svc: Services, command: str, a: dict[str, Any]) -> Plan:
    symbols = svc.market.symbols
    if command == "transfer":
        asset, amount = str(a["asset"]), Decimal(a["amount"])
        source, target = wallet(str(a["source"]), symbols), wallet(str(a["target"]), symbols)
        for name in (source, target):
            iso = iso_of_wallet(name)
            if iso is not None and asset not in (symbols[iso].base, symbols[iso].quote):
                raise PlanError(f"{asset} is not an asset of {iso}.")
        source_snap = await _margin_side(svc, source, creating=False)
        target_snap = await _margin_side(svc, target, creating=True)
        if target_snap is None and target != SPOT:
            target_snap = await _new_isolated(svc, iso_of_wallet(target) or "")
        if source == SPOT:
            available = (await svc.exchange.spot_balances()).get(asset, Decimal(0))
        else:
            available = await svc.exchange.max_transferable(asset, iso_of_wallet(source))
        shown = source_snap or target_snap
        rates = await svc.exchange.daily_interest_rates(shown.isolated_symbol if shown else None)
        return plan_transfer(asset, amount, source, target, source_snap=source_snap, target_snap=target_snap,
                             available=available, rates=rates)
    if command == "cancelorder":
        order = await find_open_order(svc, str(a["id"]))
        iso = order.symbol if order.isolated else None
        return plan_cancel(await svc.exchange.account(iso), order, await svc.exchange.daily_interest_rates(iso))
    info = symbols[str(a["symbol"])]
    iso = info.symbol if a.get("isolated") is True else None
    if iso is not None and iso not in await svc.exchange.isolated_symbols():
        raise PlanError(f"There is no isolated {iso} margin account yet.")
    snap = await svc.exchange.account(iso)
    rates = await svc.exchange.daily_interest_rates(iso)
    fee = await svc.exchange.trade_fee(info.symbol)
    if command == "close":
        text = str(a["qty"])
        pct = Decimal(text[:-1]) if text.endswith("%") else None
        return plan_partial_close(snap, info, fee, rates, None if pct is not None else Decimal(text), pct)
    side = Side.BUY if str(a["side"]).lower() == "buy" else Side.SELL
    if command == "order":
        return plan_order(snap, info, side, Decimal(a["qty"]), str(a["type"]).lower(), Decimal(a["price"]), fee,
                          rates)
    return plan_oco(snap, info, side, Decimal(a["qty"]), Decimal(a["tp"]), Decimal(a["stop"]), fee, rates)


async def open_orders(svc: Services) -> list[Order]:
    """Every open order of every margin account, oldest first."""
    orders = list(await svc.exchange.open_orders(None, False))
    for symbol in await svc.exchange.isolated_symbols():
        orders += await svc.exchange.open_orders(symbol, True)
    return sorted(orders, key=lambda o: o.order_id)


async def find_open_order(svc: Services, ident: str) -> Order:
    if not ident.isdigit():
        raise PlanError(f"'{ident[:20]}' is not an order id; see /orders.")
    for order in await open_orders(svc):
        if order.order_id == int(ident):
            return order
    raise PlanError(f"No open order {ident}; see /orders.")


def account_of_trader(command: str, a: dict[str, Any]) -> str | None:
    """The isolated account a trader command acts on (for its answer), None for cross or spot."""
    if command == "transfer":
        for key in ("target", "source"):
            if str(a.get(key, "spot")).lower() not in ("spot", "cross"):
                return str(a[key]).upper()
        return None
    return str(a["symbol"]) if a.get("isolated") is True and a.get("symbol") else None

