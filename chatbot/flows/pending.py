"""Pending actions: a change waiting for its requester's confirmation, then an admin's approval.

States: awaiting_confirmation → (cancelled | expired | awaiting_approval | executing);
awaiting_approval → (rejected | expired | cancelled | executing); executing → (done | failed).

Everything is in the database, so a restart loses nothing and a stale button resolves by token
lookup. Every transition is a conditional UPDATE on the expected state: of two presses, exactly
one moves the row, so an action executes once. A pending action is bound to its requester's
member id (never the name); `owner` is the process executing it and `told_at` says when the
requester learnt the outcome, so a crash in between is finished and told by the next start.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exc, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from chatbot.store.db import rows_changed, session_scope
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
VISIBLE_STATES = (*OPEN_STATES, EXECUTING)
FINISHED_BY_EXECUTION = (DONE, FAILED)
SHORT_ID_BYTES = 3  # what people type: /confirm 7f3a0c
SHORT_ID_ATTEMPTS = 6


def params_hash(command: str, params: dict[str, Any]) -> str:
    body = json.dumps({"command": command, "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def fingerprint(command: str, params: dict[str, Any], steps: list[str], shown: dict[str, Any]) -> str:
    """A short code for exactly what will run and what was shown: the command, its parameters, the
    exchange calls and the preview's figures (a new preview of the same request has a new code)."""
    body = json.dumps({"command": command, "params": params, "steps": steps, "shown": shown}, sort_keys=True,
                      default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Pending:
    id: int
    short_id: str
    nonce: str
    requester: str
    requester_id: int | None
    command: str
    params: dict[str, Any]
    params_hash: str
    preview: dict[str, Any]
    state: str
    needs_approval: bool
    approval_reasons: str
    approver: str | None
    approver_id: int | None
    note: str
    origin_platform: str
    origin_chat: str | None
    owner: str | None
    told_at: datetime | None
    created_at: datetime
    expires_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: PendingAction) -> Pending:
        assert row.id is not None
        return cls(row.id, row.short_id, row.nonce, row.requester, row.requester_id, row.command,
                   json.loads(row.params_json), row.params_hash, json.loads(row.preview_json), row.state,
                   row.needs_approval, row.approval_reasons, row.approver, row.approver_id, row.note,
                   row.origin_platform, row.origin_chat, row.owner, row.told_at, row.created_at, row.expires_at,
                   row.updated_at)

    @property
    def fingerprint(self) -> str:
        return str(self.preview.get("fingerprint", self.params_hash[:8]))

    @property
    def steps(self) -> list[str]:
        return list(self.preview.get("steps", []))


class PendingStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, *, requester: str, requester_id: int, command: str, params: dict[str, Any],
               preview: dict[str, Any], needs_approval: bool, reasons: list[str], now: datetime, ttl: timedelta,
               state: str = AWAITING_CONFIRMATION, origin_platform: str = "console",
               origin_chat: str | None = None) -> Pending:
        """Store a new pending action under a short id nobody holds yet.

        Short ids are 6 random hex digits so people can type them; two of them meet now and then
        (about once in 2,000 prompts on a fresh desk, more often as the table grows), so a taken
        one is drawn again, one digit pair longer after a few tries.
        """
        fields: dict[str, Any] = dict(
            requester=requester, requester_id=requester_id, command=command,
            params_json=json.dumps(params, sort_keys=True, default=str),
            params_hash=params_hash(command, params),
            preview_json=json.dumps(preview, sort_keys=True, default=str),
            state=state, needs_approval=needs_approval, approval_reasons="; ".join(reasons),
            origin_platform=origin_platform, origin_chat=origin_chat,
            created_at=now, expires_at=now + ttl, updated_at=now,
        )
        for attempt in range(SHORT_ID_ATTEMPTS):
            short_id = secrets.token_hex(SHORT_ID_BYTES + attempt // 3)
            try:
                with session_scope(self.engine) as s:
                    row = PendingAction(short_id=short_id, nonce=secrets.token_urlsafe(16), **fields)
                    s.add(row)
                    s.flush()
                    return Pending.of(row)
            except exc.IntegrityError:
                if self.by_short_id(short_id) is None:
                    raise  # some other constraint: not ours to paper over
        raise RuntimeError(f"no free short id after {SHORT_ID_ATTEMPTS} draws")

    def get(self, pending_id: int) -> Pending | None:
        with session_scope(self.engine) as s:
            row = s.get(PendingAction, pending_id)
            return Pending.of(row) if row else None

    def by_short_id(self, short_id: str) -> Pending | None:
        return self._one(col(PendingAction.short_id) == short_id.lower())

    def by_nonce(self, nonce: str) -> Pending | None:
        return self._one(col(PendingAction.nonce) == nonce)

    def _one(self, where: Any) -> Pending | None:
        with session_scope(self.engine) as s:
            row = s.execute(select(PendingAction).where(where)).scalars().first()
            return Pending.of(row) if row else None

    def _many(self, *where: Any, newest_first: bool = False) -> list[Pending]:
        order = col(PendingAction.id).desc() if newest_first else col(PendingAction.id)
        with session_scope(self.engine) as s:
            return [Pending.of(r) for r in s.execute(select(PendingAction).where(*where).order_by(order)).scalars()]

    def newest_for(self, requester_id: int, state: str) -> Pending | None:
        found = self._many(col(PendingAction.requester_id) == requester_id, col(PendingAction.state) == state,
                           newest_first=True)
        return found[0] if found else None

    def awaiting_approval(self) -> list[Pending]:
        """Oldest first."""
        return self._many(col(PendingAction.state) == AWAITING_APPROVAL)

    def open_actions(self, requester_id: int | None = None,
                     states: tuple[str, ...] = OPEN_STATES) -> list[Pending]:
        """Waiting for an answer (or, with `VISIBLE_STATES`, also executing): everyone's, or one
        member's own plus the approval queue."""
        where: list[Any] = [col(PendingAction.state).in_(states)]
        if requester_id is not None:
            where.append(or_(col(PendingAction.requester_id) == requester_id,
                             col(PendingAction.state) == AWAITING_APPROVAL))
        return self._many(*where)

    def of_requester(self, requester_id: int, states: tuple[str, ...] = OPEN_STATES) -> list[Pending]:
        return self._many(col(PendingAction.requester_id) == requester_id,
                          col(PendingAction.state).in_(states))

    def executing(self) -> list[Pending]:
        return self._many(col(PendingAction.state) == EXECUTING)

    def untold(self) -> list[Pending]:
        """Executed (or failed while executing) and the requester has not heard the outcome yet."""
        return self._many(col(PendingAction.state).in_(FINISHED_BY_EXECUTION),
                          col(PendingAction.told_at).is_(None))

    def find_duplicate(self, requester_id: int, digest: str, since: datetime) -> Pending | None:
        """The same request from the same member a moment ago (a double send): reuse its prompt."""
        found = self._many(col(PendingAction.requester_id) == requester_id, col(PendingAction.params_hash) == digest,
                           col(PendingAction.state).in_(OPEN_STATES),
                           col(PendingAction.created_at) >= since, newest_first=True)
        return found[0] if found else None

    def transition(self, pending_id: int, from_state: str, to_state: str, *, now: datetime,
                   approver: str | None = None, approver_id: int | None = None, note: str | None = None,
                   expires_at: datetime | None = None, owner: str | None = None) -> bool:
        """Move the row only if it is still in `from_state`. True when this call moved it."""
        values: dict[str, Any] = {"state": to_state, "updated_at": now}
        if approver is not None:
            values["approver"], values["approver_id"] = approver, approver_id
        if note is not None:
            values["note"] = note[:500]
        if expires_at is not None:
            values["expires_at"] = expires_at
        if owner is not None:
            values["owner"] = owner
        with session_scope(self.engine) as s:
            result = s.execute(update(PendingAction)
                               .where(col(PendingAction.id) == pending_id, col(PendingAction.state) == from_state)
                               .values(**values))
            return rows_changed(result) == 1

    def mark_told(self, pending_id: int, now: datetime) -> None:
        with session_scope(self.engine) as s:
            s.execute(update(PendingAction)
                      .where(col(PendingAction.id) == pending_id, col(PendingAction.told_at).is_(None))
                      .values(told_at=now))
