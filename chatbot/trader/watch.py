"""Telling a requester when their resting order (or OCO) fills or expires — once, whoever sees it first.

Why it exists: a limit, stop or OCO order outlives the command that placed it; its requester must hear
how it ended even if that is hours later, on another process, or after a restart. The orders the desk
placed are in `desk_orders`; `check_orders` asks the exchange about those not told yet, claims each
final status with a conditional update (two processes never both tell), marks it told once the
message reached someone, and releases the claim when it reached nobody, so the next check tries again.
A claim is a time (`claimed_at`): one left by a process that died before telling is taken over by a
later check after `CLAIM_TIMEOUT` (at least once: a process that died right after sending may cause
a second message, never none). The requester is the member identity that
placed the order (a revoked name may be granted to someone else): if they are no longer on the desk,
the admins are told instead. It runs on every paper price or clock drill, in the margin monitor's
scheduled job, and when someone lists `/orders`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlmodel import col

from chatbot.display import price
from chatbot.exchange import ExchangeError, ExchangeUnavailable, OrderNotFound, OrderStatus
from chatbot.plans import CancelStep
from chatbot.replies import Notice, Reply, Severity
from chatbot.services import Services
from chatbot.store.db import rows_changed, session_scope
from chatbot.trader.tables import DeskOrder
from chatbot.trader.views import list_key

log = logging.getLogger(__name__)
FINAL = {OrderStatus.FILLED.value, OrderStatus.CANCELED.value, OrderStatus.EXPIRED.value, OrderStatus.REJECTED.value}
CLAIM_TIMEOUT = timedelta(minutes=10)  # a claim older than this died with its process: another check tells
WORDS = {"FILLED": "filled", "CANCELED": "was cancelled", "EXPIRED": "expired", "REJECTED": "was rejected"}


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Not told, and not claimed by a check that may still be telling (one that died long ago has not)."""
    claimed_at = col(DeskOrder.claimed_at)
    return and_(col(DeskOrder.told_status) == "", or_(claimed_at.is_(None), claimed_at <= now - CLAIM_TIMEOUT))


def untold(svc: Services) -> list[DeskOrder]:
    with session_scope(svc.engine) as s:
        return list(s.execute(select(DeskOrder).where(_claimable(svc.clock()))).scalars().all())


def owners(svc: Services) -> dict[str, str]:
    """Client id (or an OCO's `list_key`) → the member who placed it."""
    with session_scope(svc.engine) as s:
        rows = s.execute(select(DeskOrder)).scalars().all()
    out: dict[str, str] = {}
    for row in rows:
        out[row.client_id] = row.requester
        if row.kind == "oco" and row.exchange_id is not None:
            out[list_key(row.symbol, row.isolated, row.exchange_id)] = row.requester
    return out


def mark_told(svc: Services, cancel: CancelStep, status: str, client_id: str | None = None) -> None:
    """The requester already knows (they cancelled it themselves).

    Order ids and OCO list ids are separate number spaces, and an id may repeat on another pair or
    account, so the row is matched on all of what identifies it (and on its client id when known)."""
    kind, ident = ("oco", cancel.list_id) if cancel.list_id != -1 else ("order", cancel.order_id)
    where = [col(DeskOrder.kind) == kind, col(DeskOrder.symbol) == cancel.symbol,
             col(DeskOrder.isolated).is_(cancel.isolated), col(DeskOrder.exchange_id) == ident,
             col(DeskOrder.told_status) == ""]
    if client_id is not None:
        where.append(col(DeskOrder.client_id) == client_id)
    with session_scope(svc.engine) as s:
        s.execute(update(DeskOrder).where(*where).values(status=status, told_status=status, claimed_at=None,
                                                         updated_at=svc.clock()))


async def _status(svc: Services, row: DeskOrder) -> tuple[str, str]:
    """The order's status now and what happened, in words."""
    if row.kind == "oco":
        olist = await svc.exchange.get_order_list(row.symbol, list_client_order_id=row.client_id, isolated=row.isolated)
        if olist.list_status != "ALL_DONE":
            return "NEW", ""
        legs = [o for o in olist.orders if o.status is OrderStatus.FILLED]
        if not legs:  # the paper book's list answer may carry ids only: ask for each leg
            legs = [o for o in [await svc.exchange.get_order(row.symbol, order_id=leg.order_id, isolated=row.isolated)
                                for leg in olist.orders] if o.status is OrderStatus.FILLED]
        if legs:
            leg = legs[0]
            which = "take-profit" if leg.type.value == "LIMIT_MAKER" else "stop"
            avg = leg.cummulative_quote_qty / leg.executed_qty if leg.executed_qty else leg.price or leg.stop_price
            return "FILLED", f"Its {which} leg filled at {price(avg)}."
        return "CANCELED", ""
    order = await svc.exchange.get_order(row.symbol, client_order_id=row.client_id, isolated=row.isolated)
    return order.status.value, ""


def _settle(svc: Services, row: DeskOrder, claimed_at: datetime, *, told_status: str) -> None:
    """End this check's claim: told (`told_status` is the status), or released for the next check ("").
    A claim another check took over meanwhile (this one outlived its timeout) is that check's to end."""
    with session_scope(svc.engine) as s:
        s.execute(update(DeskOrder).where(col(DeskOrder.id) == row.id, col(DeskOrder.claimed_at) == claimed_at)
                  .values(told_status=told_status, claimed_at=None, updated_at=svc.clock()))


def _notice(svc: Services, row: DeskOrder, status: str, how: str) -> Notice:
    """To the requester (the identity that placed it, by id: a name may belong to someone else now), or to
    the admins when the requester is no longer on the desk."""
    where = f"isolated {row.symbol}" if row.isolated else "cross"
    what = f"{'OCO' if row.kind == 'oco' else 'order'} {WORDS[status]}: {row.summary} ({where})"
    lines = [how] if how else []
    requester = svc.members.by_id(row.requester_id)
    to: tuple[str, ...]
    if requester is not None and requester.active:
        to, title = (requester.name,), f"Your {what}"
    else:
        to, title = tuple(m.name for m in svc.members.admins()), f"{row.requester}'s {what}"
        lines.append(f"{row.requester} is no longer on the desk: the admins are told instead.")
    severity = Severity.SUCCESS if status == "FILLED" else Severity.WARNING
    reply = Reply(title=title, lines=(*lines, "See /positions."), severity=severity, ref=f"order:{row.id}")
    return Notice("approvals", reply, to_members=to, to_channels=False)


async def check_orders(svc: Services) -> int:
    """Tell the requesters of orders that ended since the last check; returns how many were told."""
    told = 0
    for row in untold(svc):
        try:
            status, how = await _status(svc, row)
        except OrderNotFound:
            continue
        except (ExchangeError, ExchangeUnavailable):
            log.info("order watch: %s not readable now; next check", row.client_id)
            continue
        if status not in FINAL:
            continue
        now = svc.clock()
        with session_scope(svc.engine) as s:
            claimed = rows_changed(s.execute(
                update(DeskOrder).where(col(DeskOrder.id) == row.id, _claimable(now))
                .values(status=status, claimed_at=now, updated_at=now)))
        if claimed != 1:
            continue
        notice = _notice(svc, row, status, how)
        delivered = await svc.notifier.publish(notice)
        if delivered:
            told += 1
        elif notice.to_members:  # nobody heard it: release the claim, the next check tries again
            _settle(svc, row, now, told_status="")
            continue
        else:  # a revoked requester and no admin: nobody to wait for
            log.warning("order watch: nobody on the desk to tell that %s %s", row.client_id, status)
        _settle(svc, row, now, told_status=status)
    return told
