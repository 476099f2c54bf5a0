"""Which bot processes are alive on this database: the owner check behind every recovery.

Two processes may share one database (a rolling deploy, `chatbot run` beside a console drill).
Work in flight — an intent being sent, a request executing — names the process doing it. A
recovery pass must never settle a live process's work (it would tell a requester "not executed"
while the call is still on its way), and must settle a dead process's work at once. A process is
dead when it stopped cleanly, when it ran on this host and its pid is gone, or when its
heartbeat is older than `stale_after`.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from chatbot.store.db import session_scope
from chatbot.store.tables import DeskProcess

HEARTBEAT_SECONDS = 5.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class ProcessRegistry:
    """This process's row in `desk_processes`, and the liveness of the others."""

    def __init__(self, engine: Engine, *, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> None:
        self.engine = engine
        self.instance_id = secrets.token_hex(8)
        self.host = socket.gethostname()[:128]
        self.pid = os.getpid()
        self.heartbeat_seconds = heartbeat_seconds
        self.stale_after = timedelta(seconds=3 * heartbeat_seconds)

    def register(self) -> None:
        now = datetime.now(UTC)
        with session_scope(self.engine) as s:
            s.add(DeskProcess(instance_id=self.instance_id, host=self.host, pid=self.pid, started_at=now,
                              heartbeat_at=now))

    def heartbeat(self) -> None:
        with session_scope(self.engine) as s:
            s.execute(update(DeskProcess).where(col(DeskProcess.instance_id) == self.instance_id)
                      .values(heartbeat_at=datetime.now(UTC)))

    def stop(self) -> None:
        with session_scope(self.engine) as s:
            s.execute(update(DeskProcess).where(col(DeskProcess.instance_id) == self.instance_id)
                      .values(stopped_at=datetime.now(UTC)))

    def dead(self, owners: Iterable[str | None]) -> set[str | None]:
        """The owners among `owners` that are gone (None, an unknown id, stopped, pid gone, stale)."""
        given = set(owners)
        wanted = {o for o in given if o is not None}
        gone: set[str | None] = {None} if None in given else set()
        if not wanted:
            return gone
        now = datetime.now(UTC)
        with session_scope(self.engine) as s:
            rows = {r.instance_id: r for r in s.execute(
                select(DeskProcess).where(col(DeskProcess.instance_id).in_(wanted))).scalars()}
        for owner in wanted:
            if owner == self.instance_id:
                continue
            row = rows.get(owner)
            if row is None or row.stopped_at is not None or now - row.heartbeat_at > self.stale_after \
                    or (row.host == self.host and not _pid_alive(row.pid)):
                gone.add(owner)
        return gone
