"""Sending to the exchange: every call is recorded as an intent before it is sent.

An intent row (with a client id derived from it, and the process sending it as its owner) is
committed first, then DONE / REJECTED with the exchange's answer. When the outcome is unknown
(timeout, 5xx) it becomes UNKNOWN and is reconciled by querying the exchange — the order by its
client id, a loan by its records — never by sending again.

Loans have no client id on Binance, so they are single-flight per account and asset (a unique
`flight_key` while one is in flight; a second loan waits a few seconds for its turn), the loan
records that existed before the send are noted in the intent, and a record found afterwards is
claimed by at most one intent (`uq_intents_claim`): reconciliation can only ever find its own loan.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from chatbot.exchange import (
    Exchange,
    ExchangeError,
    ExchangeUnavailable,
    LoanRecord,
    LoanStatus,
    LoanType,
    OrderNotFound,
    OrderRequest,
    OrderType,
    account_key,
)
from chatbot.plans import OrderStep
from chatbot.store.audit import AuditLog
from chatbot.store.db import database_unavailable, rows_changed, session_scope
from chatbot.store.processes import ProcessRegistry
from chatbot.store.tables import Intent

log = logging.getLogger(__name__)

SUBMITTING, DONE, REJECTED, UNKNOWN, NOT_SENT = "SUBMITTING", "DONE", "REJECTED", "UNKNOWN", "NOT_SENT"
OPEN = (SUBMITTING, UNKNOWN)
LOAN_CLOCK_SKEW = timedelta(seconds=2)  # loan records carry the exchange's clock; ours may differ a little
LOAN_WINDOW = timedelta(minutes=2)  # a loan sent at T shows up in the records by T + this, or never
FLIGHT_WAIT_SECONDS = 5.0  # how long a loan waits for another loan of its asset to land before "busy"
FLIGHT_POLL_SECONDS = 0.02


def _json(value: Any) -> str:
    def default(o: Any) -> Any:
        if is_dataclass(o) and not isinstance(o, type):
            return asdict(o)
        return str(o)

    return json.dumps(value, default=default, sort_keys=True)


class NotSent(Exception):
    """The exchange confirms it never received the request: nothing happened, safe to ask again."""


class Busy(Exception):
    """Another loan on the same account and asset is still in flight: nothing was sent."""


class Unrecorded(Exception):
    """The exchange call was made, but its outcome could not be written (the database is down)."""


def new_client_id() -> str:
    """`[A-Za-z0-9._-]`, 27 chars: safe for Binance and python-binance's signing (no ':' or '/')."""
    return "dmb" + uuid.uuid4().hex[:24]


def flight_key(asset: str, isolated_symbol: str | None) -> str:
    """Loans are single-flight per account and asset."""
    return f"loan:{account_key(isolated_symbol)}:{asset}"


class Executor:
    def __init__(self, engine: Engine, exchange: Exchange, audit: AuditLog, processes: ProcessRegistry) -> None:
        self.engine = engine
        self.exchange = exchange
        self.audit = audit
        self.processes = processes
        # Client ids of the intents this process is sending right now, registered before the intent is
        # committed: a recovery pass on another worker must never take one of them for an orphan.
        self.in_flight: set[str] = set()

    # ------------------------------------------------------------------ recording

    def _record(self, kind: str, params: dict[str, Any], pending_id: int | None, key: str | None,
                client_id: str) -> Intent:
        with session_scope(self.engine) as s:
            # Committed before the send, as SUBMITTING: after a crash it means "maybe sent", and it is
            # reconciled by querying, so one write is enough.
            intent = Intent(pending_id=pending_id, client_id=client_id, kind=kind, params_json=_json(params),
                            state=SUBMITTING, owner=self.processes.instance_id, flight_key=key)
            s.add(intent)
            s.flush()
            return intent

    def settle(self, intent_id: int, state: str, *, from_states: tuple[str, ...] = OPEN, **values: Any) -> bool:
        """Move an open intent to `state` (conditional: a settled intent is never moved again)."""
        values = {"state": state, "updated_at": datetime.now(UTC), **values}
        if state not in OPEN:
            values["flight_key"] = None
        with session_scope(self.engine) as s:
            result = s.execute(update(Intent).where(col(Intent.id) == intent_id, col(Intent.state).in_(from_states))
                               .values(**values))
            return rows_changed(result) == 1

    def unsettled(self) -> int:
        """Intents whose outcome is unknown, or whose sender died before knowing it: trading waits for them."""
        with session_scope(self.engine) as s:
            rows = s.execute(select(col(Intent.id), col(Intent.state), col(Intent.owner))
                             .where(col(Intent.state).in_(OPEN))).all()
        if not rows:
            return 0
        dead = self.processes.dead({owner for _, _, owner in rows})
        alive = {i for i, state, owner in rows if state != UNKNOWN and owner not in dead}
        return len(rows) - len(alive) + len(self._not_being_sent(alive))

    def _not_being_sent(self, ids: set[int]) -> list[int]:
        """Of these open intents, this process's own that it is not sending — read after looking at what is
        in flight: a send that finished meanwhile settled its intent before it let go of it."""
        if not ids:
            return []
        flying = set(self.in_flight)
        with session_scope(self.engine) as s:
            rows = s.execute(select(col(Intent.id), col(Intent.client_id), col(Intent.owner))
                             .where(col(Intent.id).in_(ids), col(Intent.state).in_(OPEN))).all()
        return [i for i, cid, owner in rows if owner == self.processes.instance_id and cid not in flying]

    # ------------------------------------------------------------------ sending

    async def send(self, kind: str, params: dict[str, Any], pending_id: int | None, actor: str,
                    call: Callable[[str], Awaitable[Any]], key: str | None = None) -> Any:
        # Loan records carry the exchange's clock (the paper clock may be far from ours): keep it for reconciling.
        params = {**params, "exchange_time": (await self.exchange.now()).isoformat()}
        client_id = new_client_id()
        self.in_flight.add(client_id)
        try:
            try:
                intent = self._record(kind, params, pending_id, key, client_id)
            except IntegrityError:
                raise Busy(f"another {params.get('asset', '')} loan on this account is still being settled; "
                           "nothing was sent") from None
            assert intent.id is not None
            self.audit.append(actor, f"exchange.{kind}", "sent",
                              detail={"intent": intent.id, "client_id": client_id, **params})
            return await self._call(intent.id, kind, actor, lambda: call(client_id))
        finally:
            self.in_flight.discard(client_id)

    async def _call(self, intent_id: int, kind: str, actor: str, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            result = await call()
        except ExchangeError as exc:
            self.settle(intent_id, REJECTED, error=f"{exc.code}: {exc.msg}")
            self.audit.append(actor, f"exchange.{kind}", "rejected",
                              detail={"intent": intent_id, "code": exc.code, "msg": exc.msg})
            raise
        except ExchangeUnavailable as exc:
            self.settle(intent_id, UNKNOWN, error=str(exc)[:300])
            self.audit.append(actor, f"exchange.{kind}", "unknown", detail={"intent": intent_id})
            state = await self.reconcile(intent_id)
            if state == NOT_SENT:
                raise NotSent(f"intent {intent_id} never reached the exchange") from exc
            if state != DONE:
                raise
            return None
        ref = getattr(result, "order_id", getattr(result, "order_list_id", result))
        try:
            self.settle(intent_id, DONE, exchange_ref=str(ref), result_json=_json(result)[:4000])
            self.audit.append(actor, f"exchange.{kind}", "done", detail={"intent": intent_id, "ref": str(ref)})
        except Exception as exc:
            if database_unavailable(exc):
                log.error("intent %s was executed (ref %s) but could not be recorded", intent_id, ref)
                raise Unrecorded(str(ref)) from exc
            raise
        return result

    async def borrow(self, asset: str, amount: Decimal, isolated_symbol: str | None, *,
                     pending_id: int | None, actor: str) -> Any:
        return await self._loan(LoanType.BORROW, asset, amount, isolated_symbol, pending_id, actor)

    async def repay(self, asset: str, amount: Decimal, isolated_symbol: str | None, *,
                    pending_id: int | None, actor: str) -> Any:
        return await self._loan(LoanType.REPAY, asset, amount, isolated_symbol, pending_id, actor)

    async def _loan(self, type_: LoanType, asset: str, amount: Decimal, isolated_symbol: str | None,
                    pending_id: int | None, actor: str) -> Any:
        send = self.exchange.borrow if type_ is LoanType.BORROW else self.exchange.repay
        waited = 0.0
        while True:  # another member's loan of this asset in flight: wait its turn (it takes milliseconds)
            try:
                now = await self.exchange.now()
                before = await self.exchange.loan_records(type_, asset=asset, isolated_symbol=isolated_symbol,
                                                          start=now - LOAN_WINDOW)
            except (ExchangeError, ExchangeUnavailable) as exc:  # nothing was sent yet
                raise NotSent(f"could not read the {asset} loan records before sending: {exc}") from exc
            params = {"asset": asset, "amount": str(amount), "isolated_symbol": isolated_symbol,
                      "seen_before": sorted(r.tx_id for r in before)}  # read again after each wait
            try:
                return await self.send(type_.value.lower(), params, pending_id, actor,
                                       lambda _cid: send(asset, amount, isolated_symbol),
                                       key=flight_key(asset, isolated_symbol))
            except Busy:
                if waited >= FLIGHT_WAIT_SECONDS:
                    raise
                await asyncio.sleep(FLIGHT_POLL_SECONDS)
                waited += FLIGHT_POLL_SECONDS

    async def order(self, step: OrderStep, isolated: bool, *, pending_id: int | None, actor: str) -> Any:
        params = {"symbol": step.symbol, "side": step.side.value, "type": step.type, "qty": str(step.qty),
                  "side_effect": step.side_effect.value, "isolated": isolated}
        if step.price is not None:
            params["price"] = str(step.price)
        if step.stop_price is not None:
            params["stop_price"] = str(step.stop_price)

        def call(client_id: str) -> Awaitable[Any]:
            return self.exchange.place_order(OrderRequest(
                symbol=step.symbol, side=step.side, type=OrderType(step.type), quantity=step.qty,
                price=step.price, stop_price=step.stop_price,
                time_in_force="GTC" if step.type == "LIMIT" else None,
                side_effect=step.side_effect, isolated=isolated, client_order_id=client_id))

        return await self.send("order", params, pending_id, actor, call)

    # ------------------------------------------------------------------ reconciling

    async def reconcile(self, intent_id: int) -> str:
        """Find out what happened to an intent with an unknown outcome by querying the exchange."""
        with session_scope(self.engine) as s:
            intent = s.get(Intent, intent_id)
            assert intent is not None
            if intent.state not in OPEN:
                return intent.state
            params, kind, client_id = json.loads(intent.params_json), intent.kind, intent.client_id
            sent = datetime.fromisoformat(params["exchange_time"])
        try:
            if kind == "order":
                return await self._reconcile_order(intent_id, params, client_id, sent)
            if kind in ("oco", "cancel", "transfer"):
                from chatbot.trader.intents import reconcile  # the trader's intents (no import cycle)

                return await reconcile(self, intent_id, kind, params, client_id, sent)
            return await self._reconcile_loan(intent_id, kind, params, sent)
        except (ExchangeError, ExchangeUnavailable):
            log.warning("reconciliation of intent %s is still inconclusive", intent_id)
            self.settle(intent_id, UNKNOWN)
            return UNKNOWN

    async def absent(self, intent_id: int, sent: datetime, why: str) -> str:
        """Not on the exchange: NOT_SENT once the exchange has had time to show it, UNKNOWN before."""
        if await self.exchange.now() - sent < timedelta(seconds=getattr(self.exchange, "settle_seconds", 0)):
            self.settle(intent_id, UNKNOWN)
            return UNKNOWN
        self.settle(intent_id, NOT_SENT, error=why)
        return NOT_SENT

    async def _reconcile_order(self, intent_id: int, params: dict[str, Any], client_id: str, sent: datetime) -> str:
        try:
            order = await self.exchange.get_order(params["symbol"], client_order_id=client_id,
                                                  isolated=bool(params.get("isolated")))
        except OrderNotFound:
            return await self.absent(intent_id, sent, "order not found on the exchange")
        self.settle(intent_id, DONE, exchange_ref=str(order.order_id), result_json=_json(order)[:4000])
        return DONE

    async def _reconcile_loan(self, intent_id: int, kind: str, params: dict[str, Any], sent: datetime) -> str:
        loan_type = LoanType.BORROW if kind == "borrow" else LoanType.REPAY
        records = await self.exchange.loan_records(
            loan_type, asset=params["asset"], isolated_symbol=params.get("isolated_symbol"),
            start=sent - LOAN_CLOCK_SKEW, end=sent + LOAN_WINDOW)
        seen = set(params.get("seen_before", []))
        amount = Decimal(params["amount"])
        candidates = sorted((r for r in records if r.amount == amount and r.tx_id not in seen
                             and r.status is not LoanStatus.FAILED and r.kind != "AUTO"), key=_loan_order)
        if any(r.status is LoanStatus.PENDING for r in candidates):
            self.settle(intent_id, UNKNOWN)
            return UNKNOWN  # in flight on the exchange: ask again later
        return await self.claim(intent_id, candidates, sent, "no matching loan record")

    async def claim(self, intent_id: int, candidates: Sequence[Record], sent: datetime, why_absent: str) -> str:
        """Settle the intent on the first exchange record no other intent has claimed (oldest first);
        absent when there is none."""
        for record in candidates:
            try:
                if self.settle(intent_id, DONE, exchange_ref=str(record.tx_id), result_json=_json(record)):
                    return DONE
                return self.state_of(intent_id)
            except IntegrityError:
                continue  # another intent claimed this record: it is not ours
        return await self.absent(intent_id, sent, why_absent)

    def state_of(self, intent_id: int) -> str:
        with session_scope(self.engine) as s:
            intent = s.get(Intent, intent_id)
            return intent.state if intent else NOT_SENT

    def orphans(self) -> list[int]:
        """Open intents nobody is sending any more: their owner died, or it is us and we are not sending."""
        with session_scope(self.engine) as s:
            rows = s.execute(select(col(Intent.id), col(Intent.owner)).where(col(Intent.state).in_(OPEN))).all()
        dead = self.processes.dead({owner for _, owner in rows})
        return [i for i, owner in rows if owner in dead] + self._not_being_sent(
            {i for i, owner in rows if owner not in dead})

    def states_of(self, pending_id: int) -> list[str]:
        with session_scope(self.engine) as s:
            stmt = select(col(Intent.state)).where(col(Intent.pending_id) == pending_id).order_by(col(Intent.id))
            return [state for (state,) in s.execute(stmt)]



class Record(Protocol):
    """An exchange record an intent can claim: a loan's or a transfer's, by its transaction id."""

    @property
    def tx_id(self) -> int: ...


def _loan_order(record: LoanRecord) -> tuple[datetime, int]:
    return record.time, record.tx_id
