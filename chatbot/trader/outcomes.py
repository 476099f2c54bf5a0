"""What the trader's view adds around an execution: the equity mark before, and after it the new fills,
the realized P&L of what a close closed, and the watch on a resting order.

Why it exists: `chatbot.flows.execute` runs every leverage change; these steps are bookkeeping around it
and must never turn a done execution into a failure, so each is best effort (logged, never raised): the
fills are synced again on the next `/positions` or `/pnl` anyway.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from chatbot.display import signed_usdt, usdt
from chatbot.exchange import ExchangeError, ExchangeUnavailable, Order, OrderList
from chatbot.flows.pending import Pending
from chatbot.plans import Plan, order_text
from chatbot.services import Services
from chatbot.store.db import session_scope
from chatbot.trader.book import FillBook, read_accounts
from chatbot.trader.tables import DeskOrder

log = logging.getLogger(__name__)
D0 = Decimal(0)


def fill_book(svc: Services) -> FillBook:
    return FillBook(svc.engine, svc.exchange, svc.market.symbols)


async def mark_equity(svc: Services, note: str) -> None:
    """The desk's margin equity now (where a `/pnl` window that starts before the next trade begins)."""
    try:
        accounts = await read_accounts(svc.exchange)
        fill_book(svc).record_equity(await svc.exchange.now(), accounts.equity, note)
    except Exception:  # bookkeeping: never in the way of a trade
        log.warning("could not record the desk's equity (%s)", note, exc_info=True)


def watch(svc: Services, p: Pending, result: object, summary: str, now: datetime) -> None:
    """Remember a resting order for its requester: they are told once it fills or expires."""
    if isinstance(result, OrderList):
        client_id, kind, symbol, isolated, ident = (result.list_client_order_id, "oco", result.symbol,
                                                    result.isolated, result.order_list_id)
    elif isinstance(result, Order):
        client_id, kind, symbol, isolated, ident = (result.client_order_id, "order", result.symbol, result.isolated,
                                                    result.order_id)
    else:
        return
    try:
        with session_scope(svc.engine) as s:
            s.add(DeskOrder(client_id=client_id, kind=kind, exchange_id=ident, symbol=symbol, isolated=isolated,
                            requester=p.requester,
                            requester_id=p.requester_id, pending_id=p.id, summary=summary[:160],
                            status="NEW", told_status="", created_at=now, updated_at=now))
    except IntegrityError:
        return


async def after_done(svc: Services, p: Pending, plan: Plan, results: list[object]) -> tuple[tuple[str, str], ...]:
    """Fields for the done answer: what a close realized; and resting orders are watched."""
    now = svc.clock()
    if plan.cancel is not None:  # the requester cancelled it: the watch need not tell them again
        from chatbot.trader.watch import mark_told

        mark_told(svc, plan.cancel, "CANCELED", client_id=_client_id(results))
    if plan.order is not None and plan.order.type != "MARKET":
        for result in results:
            watch(svc, p, result, order_text(plan.order), now)
    try:
        accounts = await read_accounts(svc.exchange)
        book = fill_book(svc)
        await book.sync(accounts)
    except (ExchangeError, ExchangeUnavailable):
        log.warning("fills not synced after [%s]; the next /positions will", p.short_id)
        return ()
    if p.command != "close":
        return ()
    orders = {r.order_id for r in results if isinstance(r, Order)}
    if not orders:
        return ()
    try:
        ledger = await book.ledger(accounts)
    except (ExchangeError, ExchangeUnavailable):
        return ()
    lines = [r for r in ledger.realized if r.order_id in orders]
    trading = sum((r.trading for r in lines), D0)
    fees = sum((r.fees for r in lines), D0)
    interest = sum((r.interest for r in lines), D0)
    parts = [f"{signed_usdt(trading)} trading"]
    if fees:
        parts.append(f"fees {usdt(fees)}")
    if interest:
        parts.append(f"interest paid {usdt(interest)}")
    return (("Realized P&L", ", ".join(parts)),)


def _client_id(results: list[object]) -> str | None:
    """The client id of what a cancel cancelled, when its answer carries it (a reconciled one may not)."""
    for result in results:
        if isinstance(result, OrderList):
            return result.list_client_order_id
        if isinstance(result, Order):
            return result.client_order_id
    return None
