"""Audit anchors: the audit log's head, written down outside the database.

The keyed chain (`chatbot.store.audit`) stops anyone without the key from altering or appending
rows, but deleting the newest rows leaves a shorter chain that still verifies. So, on a schedule
and at start and stop, the bot writes the head (row id, hash, time) to an append-only file and
posts it to the system channel. `chatbot audit verify` checks the chain against the last anchor:
the anchored row must still exist with the same hash, so truncation past it is detected.

Also here: where the audit key comes from (`CHATBOT_AUDIT_KEY`, else a key file created once with
owner-only permissions), because both the running bot and `chatbot audit verify` need the same key.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from chatbot.store.audit import AuditLog

KEY_BYTES = 32
MIN_KEY_LENGTH = 16  # a key set by hand must be at least this long


def load_audit_key(env_value: str | None, key_file: Path) -> bytes:
    """The key from the environment, else from `key_file` (created on first use, mode 0600).

    Two processes starting together on a new desk both find no key file: each writes a whole key to
    a file of its own and links it into place; the first link wins and both read the winner, so
    nobody ever reads a half-written key.
    """
    if env_value:
        return env_value.encode()
    if not key_file.exists():
        draft = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secrets.token_hex(KEY_BYTES) + "\n")
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(FileExistsError):  # another process linked its key first: use that one
                os.link(draft, key_file)
        finally:
            draft.unlink(missing_ok=True)
    return key_file.read_text(encoding="ascii").strip().encode()


@dataclass(frozen=True)
class Anchor:
    row_id: int
    hash: str
    at: datetime

    def line(self) -> str:
        return json.dumps({"row": self.row_id, "hash": self.hash, "at": self.at.isoformat()}, sort_keys=True)

    @property
    def short(self) -> str:
        return f"row {self.row_id}, hash {self.hash[:16]}"


class AnchorFile:
    """An append-only JSON-lines file of anchors."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def anchor(self, audit: AuditLog) -> Anchor | None:
        """Write the log's current head (None when the log is empty or the head is already anchored)."""
        head = audit.head()
        if head is None:
            return None
        last = self.last()
        if last is not None and last.row_id == head[0] and last.hash == head[1]:
            return None
        found = Anchor(head[0], head[1], datetime.now(UTC))
        with self.path.open("a", encoding="utf-8") as f:
            f.write(found.line() + "\n")
            f.flush()
            os.fsync(f.fileno())
        return found

    def last(self) -> Anchor | None:
        if not self.path.is_file():
            return None
        last = None
        for raw in self.path.read_text(encoding="utf-8").splitlines():
            try:
                doc = json.loads(raw)
                last = Anchor(int(doc["row"]), str(doc["hash"]), datetime.fromisoformat(doc["at"]))
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line from a crash mid-write
        return last


def check_anchor(audit: AuditLog, anchor: Anchor | None) -> str | None:
    """None when the log still holds the anchored row unchanged; else one line saying what is wrong."""
    if anchor is None:
        return None
    found = audit.hash_of(anchor.row_id)
    if found is None:
        head = audit.head()
        now_at = f"it now ends at row {head[0]}" if head else "it is now empty"
        return f"the audit log was truncated: row {anchor.row_id} (anchored {anchor.at:%Y-%m-%d %H:%M} UTC) is gone; " \
               f"{now_at}"
    if found != anchor.hash:
        return f"row {anchor.row_id} no longer has the hash anchored at {anchor.at:%Y-%m-%d %H:%M} UTC"
    return None
