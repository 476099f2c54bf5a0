"""Pending actions: a leverage change waiting for its requester's confirmation, then an admin's approval.

States: awaiting_confirmation → (cancelled | expired | awaiting_approval | executing);
awaiting_approval → (rejected | expired | executing); executing → (done | failed).

Everything is in the database, so a restart loses nothing and a stale button resolves by token
lookup. Every transition is a conditional UPDATE on the expected state: of two presses, exactly
one moves the row, so an action executes once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine

from chatbot.store.db import session_scope
from chatbot.store.tables import PendingAction

AWAITING_CONFIRMATION = "awaiting_confirmation"
AWAITING_APPROVAL = "awaiting_approval"
EXECUTING = "executing"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"
REJECTED = "rejected"
EXPIRED = "expired"
OPEN_STATES = (AWAITING_CONFIRMATION, AWAITING_APPROVAL)


def params_hash(command: str, params: dict[str, Any]) -> str:
    body = json.dumps({"command": command, "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Pending:
    id: int
    short_id: str
    nonce: str
    requester: str
    command: str
    params: dict[str, Any]
    params_hash: str
    preview: dict[str, Any]
    state: str
    needs_approval: bool
    approval_reasons: str
    approver: str | None
    note: str
    origin_platform: str
    origin_chat: str | None
    created_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, row: PendingAction) -> Pending:
        assert row.id is not None
        return cls(row.id, row.short_id, row.nonce, row.requester, row.command, json.loads(row.params_json),
                   row.params_hash, json.loads(row.preview_json), row.state, row.needs_approval,
                   row.approval_reasons, row.approver, row.note, row.origin_platform, row.origin_chat,
                   row.created_at, row.expires_at)


class PendingStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, *, requester: str, command: str, params: dict[str, Any], preview: dict[str, Any],
               needs_approval: bool, reasons: list[str], now: datetime, ttl: timedelta,
               state: str = AWAITING_CONFIRMATION, origin_platform: str = "console",
               origin_chat: str | None = None) -> Pending:
        with session_scope(self.engine) as s:
            row = PendingAction(
                short_id=secrets.token_hex(3),
                nonce=secrets.token_urlsafe(16),
                requester=requester, command=command,
                params_json=json.dumps(params, sort_keys=True, default=str),
                params_hash=params_hash(command, params),
                preview_json=json.dumps(preview, sort_keys=True, default=str),
                state=state, needs_approval=needs_approval, approval_reasons="; ".join(reasons),
                origin_platform=origin_platform, origin_chat=origin_chat,
                created_at=now, expires_at=now + ttl, updated_at=now,
            )
            s.add(row)
            s.flush()
            return Pending.of(row)

    def get(self, pending_id: int) -> Pending | None:
        with session_scope(self.engine) as s:
            row = s.get(PendingAction, pending_id)
            return Pending.of(row) if row else None

    def by_short_id(self, short_id: str) -> Pending | None:
        return self._one(PendingAction.short_id == short_id.lower())

    def by_nonce(self, nonce: str) -> Pending | None:
        return self._one(PendingAction.nonce == nonce)

    def _one(self, where: Any) -> Pending | None:
        with session_scope(self.engine) as s:
            row = s.execute(select(PendingAction).where(where)).scalars().first()
            return Pending.of(row) if row else None

    def newest_for(self, requester: str, state: str) -> Pending | None:
        with session_scope(self.engine) as s:
            row = s.execute(select(PendingAction)
                            .where(PendingAction.requester == requester, PendingAction.state == state)
                            .order_by(PendingAction.id.desc())).scalars().first()  # type: ignore[union-attr]
            return Pending.of(row) if row else None

    def oldest_awaiting_approval(self, exclude_requester: str | None = None) -> Pending | None:
        with session_scope(self.engine) as s:
            stmt = select(PendingAction).where(PendingAction.state == AWAITING_APPROVAL)
            if exclude_requester:
                stmt = stmt.where(PendingAction.requester != exclude_requester)
            row = s.execute(stmt.order_by(PendingAction.id)).scalars().first()
            return Pending.of(row) if row else None

    def open_actions(self, requester: str | None = None) -> list[Pending]:
        with session_scope(self.engine) as s:
            stmt = select(PendingAction).where(PendingAction.state.in_(OPEN_STATES))  # type: ignore[attr-defined]
            if requester is not None:
                stmt = stmt.where(or_(PendingAction.requester == requester,
                                      PendingAction.state == AWAITING_APPROVAL))
            return [Pending.of(r) for r in s.execute(stmt.order_by(PendingAction.id)).scalars()]

    def find_duplicate(self, requester: str, digest: str, since: datetime) -> Pending | None:
        """The same request from the same member a moment ago (a double send): reuse its prompt."""
        with session_scope(self.engine) as s:
            row = s.execute(select(PendingAction).where(
                PendingAction.requester == requester, PendingAction.params_hash == digest,
                PendingAction.state.in_(OPEN_STATES), PendingAction.created_at >= since,  # type: ignore[attr-defined]
            ).order_by(PendingAction.id.desc())).scalars().first()  # type: ignore[union-attr]
            return Pending.of(row) if row else None

    def transition(self, pending_id: int, from_state: str, to_state: str, *, now: datetime,
                   approver: str | None = None, note: str | None = None,
                   expires_at: datetime | None = None) -> bool:
        """Move the row only if it is still in `from_state`. True when this call moved it."""
        values: dict[str, Any] = {"state": to_state, "updated_at": now}
        if approver is not None:
            values["approver"] = approver
        if note is not None:
            values["note"] = note[:500]
        if expires_at is not None:
            values["expires_at"] = expires_at
        with session_scope(self.engine) as s:
            result = s.execute(update(PendingAction)
                               .where(PendingAction.id == pending_id, PendingAction.state == from_state)
                               .values(**values))
            return result.rowcount == 1  # type: ignore[attr-defined]
