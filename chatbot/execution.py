"""Sending to the exchange: every call is recorded as an intent before it is sent.

An intent row (with a client id derived from it) is committed first, then moved to SUBMITTING,
then to DONE / REJECTED with the exchange's answer. When the outcome is unknown (timeout, 5xx)
it becomes UNKNOWN and is reconciled by querying the exchange (the order by its client id, a loan
by its records) — never by sending again.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from chatbot.exchange import (
    Exchange,
    ExchangeError,
    ExchangeUnavailable,
    LoanStatus,
    LoanType,
    OrderNotFound,
    OrderRequest,
    OrderType,
)
from chatbot.plans import OrderStep
from chatbot.store.audit import AuditLog
from chatbot.store.db import session_scope
from chatbot.store.tables import Intent

log = logging.getLogger(__name__)

NEW, SUBMITTING, DONE, REJECTED, UNKNOWN, NOT_SENT = "NEW", "SUBMITTING", "DONE", "REJECTED", "UNKNOWN", "NOT_SENT"
OPEN = (NEW, SUBMITTING, UNKNOWN)


def _json(value: Any) -> str:
    def default(o: Any) -> Any:
        if is_dataclass(o) and not isinstance(o, type):
            return asdict(o)
        if isinstance(o, Decimal | datetime):
            return str(o)
        return str(o)

    return json.dumps(value, default=default, sort_keys=True)


class NotSent(Exception):
    """The exchange confirms it never received the request: nothing happened, safe to ask again."""


def new_client_id() -> str:
    """`[A-Za-z0-9._-]`, 27 chars: safe for Binance and python-binance's signing (no ':' or '/')."""
    return "dmb" + uuid.uuid4().hex[:24]


class Executor:
    def __init__(self, engine: Engine, exchange: Exchange, audit: AuditLog) -> None:
        self.engine = engine
        self.exchange = exchange
        self.audit = audit

    def _record(self, kind: str, params: dict[str, Any], pending_id: int | None) -> Intent:
        with session_scope(self.engine) as s:
            # Committed before the send. SUBMITTING (not NEW) straight away: after a crash both mean
            # "maybe sent", and both are reconciled by querying, so one write is enough.
            intent = Intent(pending_id=pending_id, client_id=new_client_id(), kind=kind,
                            params_json=_json(params), state=SUBMITTING)
            s.add(intent)
            s.flush()
            return intent

    def _set(self, intent_id: int, state: str, **values: Any) -> None:
        with session_scope(self.engine) as s:
            s.execute(update(Intent).where(Intent.id == intent_id)
                      .values(state=state, updated_at=datetime.now(UTC), **values))

    async def _send(self, kind: str, params: dict[str, Any], pending_id: int | None, actor: str,
                    call: Callable[[str], Awaitable[Any]]) -> Any:
        # Loan records carry the exchange's clock (the paper clock may be far from ours): keep it for reconciling.
        params = {**params, "exchange_time": (await self.exchange.now()).isoformat()}
        intent = self._record(kind, params, pending_id)
        assert intent.id is not None
        self.audit.append(actor, f"exchange.{kind}", "sent",
                          detail={"intent": intent.id, "client_id": intent.client_id, **params})
        try:
            result = await call(intent.client_id)
        except ExchangeError as exc:
            self._set(intent.id, REJECTED, error=f"{exc.code}: {exc.msg}")
            self.audit.append(actor, f"exchange.{kind}", "rejected",
                              detail={"intent": intent.id, "code": exc.code, "msg": exc.msg})
            raise
        except ExchangeUnavailable as exc:
            self._set(intent.id, UNKNOWN, error=str(exc)[:300])
            self.audit.append(actor, f"exchange.{kind}", "unknown", detail={"intent": intent.id})
            state = await self.reconcile(intent.id)
            if state == NOT_SENT:
                raise NotSent(f"intent {intent.id} never reached the exchange") from exc
            if state != DONE:
                raise
            return None
        ref = getattr(result, "order_id", result)
        self._set(intent.id, DONE, exchange_ref=str(ref), result_json=_json(result)[:4000])
        self.audit.append(actor, f"exchange.{kind}", "done", detail={"intent": intent.id, "ref": str(ref)})
        return result

    async def borrow(self, asset: str, amount: Decimal, isolated_symbol: str | None, *,
                     pending_id: int | None, actor: str) -> int:
        params = {"asset": asset, "amount": str(amount), "isolated_symbol": isolated_symbol}
        return await self._send("borrow", params, pending_id, actor,
                                lambda _cid: self.exchange.borrow(asset, amount, isolated_symbol))  # type: ignore[no-any-return]

    async def repay(self, asset: str, amount: Decimal, isolated_symbol: str | None, *,
                    pending_id: int | None, actor: str) -> int:
        params = {"asset": asset, "amount": str(amount), "isolated_symbol": isolated_symbol}
        return await self._send("repay", params, pending_id, actor,
                                lambda _cid: self.exchange.repay(asset, amount, isolated_symbol))  # type: ignore[no-any-return]

    async def order(self, step: OrderStep, isolated: bool, *, pending_id: int | None, actor: str) -> Any:
        params = {"symbol": step.symbol, "side": step.side.value, "type": "MARKET", "qty": str(step.qty),
                  "side_effect": step.side_effect.value, "isolated": isolated}

        def call(client_id: str) -> Awaitable[Any]:
            return self.exchange.place_order(OrderRequest(
                symbol=step.symbol, side=step.side, type=OrderType.MARKET, quantity=step.qty,
                side_effect=step.side_effect, isolated=isolated, client_order_id=client_id))

        return await self._send("order", params, pending_id, actor, call)

    async def reconcile(self, intent_id: int) -> str:
        """Find out what happened to an intent with an unknown outcome by querying the exchange."""
        with session_scope(self.engine) as s:
            intent = s.get(Intent, intent_id)
            assert intent is not None
            params, kind, client_id = json.loads(intent.params_json), intent.kind, intent.client_id
            created = datetime.fromisoformat(params["exchange_time"]) if "exchange_time" in params \
                else intent.created_at
        try:
            if kind == "order":
                try:
                    order = await self.exchange.get_order(params["symbol"], client_order_id=client_id,
                                                          isolated=bool(params.get("isolated")))
                except OrderNotFound:
                    self._set(intent_id, NOT_SENT, error="order not found on the exchange")
                    return NOT_SENT
                self._set(intent_id, DONE, exchange_ref=str(order.order_id), result_json=_json(order)[:4000])
                return DONE
            loan_type = LoanType.BORROW if kind == "borrow" else LoanType.REPAY
            records = await self.exchange.loan_records(
                loan_type, asset=params["asset"], isolated_symbol=params.get("isolated_symbol"),
                start=created - timedelta(minutes=1))
            amount = Decimal(params["amount"])
            for rec in records:
                if rec.amount == amount and rec.status != LoanStatus.FAILED:
                    state = DONE if rec.status == LoanStatus.CONFIRMED else UNKNOWN
                    self._set(intent_id, state, exchange_ref=str(rec.tx_id))
                    return state
            self._set(intent_id, NOT_SENT, error="no matching loan record")
            return NOT_SENT
        except (ExchangeError, ExchangeUnavailable):
            log.warning("reconciliation of intent %s is still inconclusive", intent_id)
            return UNKNOWN

    async def reconcile_open(self) -> dict[int, str]:
        """At start-up: settle every intent left NEW / SUBMITTING / UNKNOWN by a previous run."""
        with session_scope(self.engine) as s:
            ids = [i for (i,) in s.execute(select(Intent.id).where(Intent.state.in_(OPEN)))]  # type: ignore[attr-defined, call-overload]
        return {i: await self.reconcile(i) for i in ids}
