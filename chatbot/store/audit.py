"""The audit log: append-only and chained with a keyed hash, with secrets redacted before they are written.

Every request, denial, prompt, confirmation, approval, exchange call and result becomes one row.
Each row's hash is an HMAC-SHA256 over its content and the previous row's hash, keyed with a
secret the database does not hold (`CHATBOT_AUDIT_KEY` or the key file), so someone who can
write to the database still cannot append, alter or re-chain rows that verify. `prev_hash` is
unique, so two writers can never fork the chain (the loser retries). `verify()` recomputes the
whole chain; cutting rows off the end is caught against the anchors (`chatbot.store.anchors`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel import select as sqlmodel_select

from chatbot.redact import REDACTOR
from chatbot.store.db import session_scope, table_of
from chatbot.store.tables import AuditEntry

GENESIS = "0" * 64


def _canonical(at: datetime, actor: str, member: str | None, action: str, outcome: str, detail: str,
               prev_hash: str) -> bytes:
    body = {
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor, "member": member, "action": action, "outcome": outcome,
        "detail": detail, "prev": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _json(detail: dict[str, Any] | None) -> str:
    if not detail:
        return ""
    return REDACTOR(json.dumps(detail, sort_keys=True, default=str, separators=(",", ":")))


class AuditLog:
    def __init__(self, engine: Engine, key: bytes) -> None:
        if len(key) < 16:  # chatbot.runtime refuses shorter keys with one line naming the setting
            raise ValueError("the audit key must be at least 16 bytes")
        self.engine = engine
        self._key = key
        self._head: str | None = None  # last hash this process wrote or read; re-read on conflict
        self._table = table_of(AuditEntry)
        self._lock = threading.Lock()

    def _read_head(self) -> str:
        with self.engine.connect() as conn:
            last = conn.execute(sa.select(self._table.c.hash).order_by(self._table.c.id.desc()).limit(1)).scalar()
        return str(last) if last else GENESIS

    def append(self, actor: str, action: str, outcome: str, *, member: str | None = None,
               detail: dict[str, Any] | None = None, at: datetime | None = None) -> AuditEntry:
        """One INSERT: chained onto the head this process knows; if another writer moved the head,
        the unique `prev_hash` refuses the row and we re-read the head and try again."""
        at = at or datetime.now(UTC)
        text = _json(detail)
        actor = REDACTOR(actor)
        with self._lock:  # this process's writers in turn; another process's are caught by `prev_hash`
            return self._append(at, actor, member, action, outcome, text)

    def _append(self, at: datetime, actor: str, member: str | None, action: str, outcome: str,
                text: str) -> AuditEntry:
        for _ in range(20):
            prev = self._head if self._head is not None else self._read_head()
            digest = self._digest(_canonical(at, actor, member, action, outcome, text, prev))
            row = {"at": at, "actor": actor, "member": member, "action": action, "outcome": outcome,
                   "detail_json": text, "prev_hash": prev, "hash": digest}
            try:
                with self.engine.begin() as conn:
                    new_id = conn.execute(sa.insert(self._table).values(**row)).inserted_primary_key
            except IntegrityError:
                self._head = None
                continue
            self._head = digest
            return AuditEntry(id=new_id[0] if new_id else None, at=at, actor=actor, member=member, action=action,
                              outcome=outcome, detail_json=text, prev_hash=prev, hash=digest)
        raise RuntimeError("audit log is contended; gave up after 20 attempts")

    def _digest(self, body: bytes) -> str:
        return hmac.new(self._key, body, hashlib.sha256).hexdigest()

    def head(self) -> tuple[int, str] | None:
        """The last row's id and hash (what an anchor records), or None for an empty log."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self._table.c.id, self._table.c.hash)
                               .order_by(self._table.c.id.desc()).limit(1)).first()
        return (int(row[0]), str(row[1])) if row else None

    def hash_of(self, row_id: int) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(self._table.c.hash).where(self._table.c.id == row_id)).scalar()
        return str(value) if value is not None else None

    def tail(self, n: int = 20) -> list[AuditEntry]:
        with session_scope(self.engine) as s:
            rows = list(s.exec(sqlmodel_select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(n)).all())
        return list(reversed(rows))

    def verify(self) -> VerifyResult:
        prev = GENESIS
        count = 0
        with session_scope(self.engine) as s:
            for (row,) in s.execute(select(AuditEntry).order_by(col(AuditEntry.id))):
                expected = self._digest(_canonical(row.at, row.actor, row.member, row.action, row.outcome,
                                                   row.detail_json, prev))
                if row.prev_hash != prev or row.hash != expected:
                    return VerifyResult(False, count, row.id)
                prev = row.hash
                count += 1
        return VerifyResult(True, count, None)

    def find(self, action: str) -> Sequence[AuditEntry]:
        with session_scope(self.engine) as s:
            return [r[0] for r in s.execute(select(AuditEntry).where(col(AuditEntry.action) == action)
                                            .order_by(col(AuditEntry.id)))]


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    rows: int
    broken_at: int | None
