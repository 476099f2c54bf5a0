"""The single-leader lease: which one process may run the scheduler right now.

APScheduler 3 must never share a job store between two running schedulers: two processes on one
`apscheduler_jobs` table fire the same run time twice (proved on SQLite and PostgreSQL). A rolling
deploy or an accidental double start does exactly that, so every process competes for a lease and
only the holder starts its scheduler.

Two guards, both on the project database:

- A lease row in `scheduler_lease` (`name` PK, `owner`, `expires_at`). Taking it is one
  conditional UPDATE (`owner = me OR expires_at < now`; rowcount 1 = leader) with an INSERT fallback
  (IntegrityError = someone else). Expiry is computed with the DATABASE's clock (`now()` on
  PostgreSQL, `strftime('now')` on SQLite), so hosts with skewed clocks agree on who holds it.
- On PostgreSQL, additionally a session-level `pg_try_advisory_lock` held on one dedicated,
  long-lived AUTOCOMMIT connection (never the `_xact_` variant, which is released at commit). The
  server drops it the moment the holder's session dies; every lease-row statement runs on that same
  connection, so a successful renewal proves the lock is still held. A connection error ends the
  leadership at once and the connection is never silently re-opened while leading.

`held()` is answered locally from the monotonic clock: it is true only until `ttl` (minus a small
margin) after the start of the last successful acquire/renew, which is never later than the expiry
the database recorded. Jobs use it as a fencing check right before side effects.

The methods are synchronous and thread-safe (one lock); the async leader loop in
`chatbot.scheduler` calls them through `asyncio.to_thread`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Field, SQLModel

from chatbot.store.db import table_of

log = logging.getLogger(__name__)

LEASE_TABLE = "scheduler_lease"
DEFAULT_LEASE_NAME = "scheduler"


class SchedulerLease(SQLModel, table=True):
    """One row per named lease. `expires_at` is aware UTC, written with the database's clock."""

    __tablename__ = LEASE_TABLE

    name: str = Field(primary_key=True, max_length=64)
    owner: str = Field(max_length=200)
    expires_at: datetime


_T = table_of(SchedulerLease)


def make_owner_id() -> str:
    """`host:pid:random`, unique per LeaderLease even within one process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for `pg_try_advisory_lock`, derived from the lease name."""
    digest = hashlib.blake2b(f"chatbot.scheduler_lease:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# --- the database's clock ---------------------------------------------------------------------
# SQLite stores DateTime as 'YYYY-MM-DD HH:MM:SS.ffffff' text; strftime('%f') gives 'SS.SSS', so
# appending '000' yields the same layout and plain text comparison orders correctly.
_SQLITE_FMT = "%Y-%m-%d %H:%M:%f000"


def _db_now(dialect: str) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        return sa.func.now()
    if dialect == "sqlite":
        return sa.func.strftime(_SQLITE_FMT, "now")
    # Other backends: fall back to this process's clock (documented limitation).
    return sa.literal(datetime.now(UTC), type_=_T.c.expires_at.type)


def _db_now_plus(dialect: str, seconds: float) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        return sa.func.now() + sa.literal(timedelta(seconds=seconds), type_=sa.Interval())
    if dialect == "sqlite":
        return sa.func.strftime(_SQLITE_FMT, "now", f"+{seconds:.6f} seconds")
    return sa.literal(datetime.now(UTC) + timedelta(seconds=seconds), type_=_T.c.expires_at.type)


def _seconds_left(dialect: str) -> sa.ColumnElement[Any]:
    """`expires_at - now` in seconds, by the database's clock."""
    if dialect == "postgresql":
        return sa.extract("epoch", _T.c.expires_at - sa.func.now())
    if dialect == "sqlite":
        return (sa.func.julianday(_T.c.expires_at) - sa.func.julianday("now")) * 86400.0
    return sa.literal(None)


@dataclass(frozen=True)
class LeaseStatus:
    """Who holds a lease, for `chatbot jobs list` and diagnostics."""

    name: str
    owner: str
    expires_at: datetime
    seconds_left: float | None

    @property
    def expired(self) -> bool:
        return self.seconds_left is not None and self.seconds_left <= 0


def lease_status(engine: Engine, name: str = DEFAULT_LEASE_NAME) -> LeaseStatus | None:
    """Read the lease row without competing for it. None when no process ever took it."""
    dialect = engine.dialect.name
    stmt = sa.select(_T.c.owner, _T.c.expires_at, _seconds_left(dialect).label("left")).where(_T.c.name == name)
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    if row is None:
        return None
    left = None if row.left is None else float(row.left)
    return LeaseStatus(name=name, owner=row.owner, expires_at=row.expires_at, seconds_left=left)


class LeaderLease:
    """A renewable, expiring claim on `name`. See the module docstring for the protocol.

    `advisory_lock=None` means "on PostgreSQL, yes". The PostgreSQL variant keeps one pooled
    connection checked out for its whole life (also while standing by), so size pools accordingly.
    """

    def __init__(
        self,
        engine: Engine,
        name: str = DEFAULT_LEASE_NAME,
        ttl: float = 15.0,
        *,
        owner: str | None = None,
        advisory_lock: bool | None = None,
    ) -> None:
        if ttl <= 0:
            raise ValueError("lease ttl must be positive")
        if not name or len(name) > 64:
            raise ValueError("lease name must be 1..64 characters")
        self.engine = engine
        self.name = name
        self.ttl = float(ttl)
        self.owner = owner or make_owner_id()
        self.dialect = engine.dialect.name
        self.advisory = (self.dialect == "postgresql") if advisory_lock is None else advisory_lock
        if self.advisory and self.dialect != "postgresql":
            raise ValueError("advisory locks need PostgreSQL")
        self.key = advisory_key(name)
        # Stop trusting the lease a little before the database would hand it to someone else.
        self.safety_margin = min(1.0, self.ttl / 10)
        self.retry_after: float | None = None  # hint after a failed try: seconds the holder has left
        self._lock = threading.Lock()
        self._deadline = 0.0  # monotonic; held() is true before it
        self._conn: Connection | None = None  # PostgreSQL: the dedicated connection
        self._advisory_held = False

    # --- public API -------------------------------------------------------------------------
    def held(self) -> bool:
        """True while this process may act as leader (local monotonic check, no I/O)."""
        return time.monotonic() < self._deadline

    def seconds_held_left(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    def try_acquire(self) -> bool:
        """Take the lease if it is free, expired or already ours. Extends it by `ttl` when taken."""
        with self._lock:
            started = time.monotonic()
            self.retry_after = None
            try:
                if self.advisory and not self._take_advisory():
                    self._lost()
                    return False
                # Holding the advisory lock, a standby keeps it while a dead holder's row expires:
                # that gives it priority over later standbys and costs nothing.
                return self._claim_row(started)
            except SQLAlchemyError:
                self._lost()
                self._drop_connection(broken=True)
                raise

    def renew(self) -> bool:
        """Extend a lease we hold. False (and `held()` false) when the row is no longer ours.

        A database error is raised. On PostgreSQL it also ends the leadership at once (the
        advisory lock may be gone with the connection); on SQLite `held()` keeps its deadline,
        because the row stays ours until it expires.
        """
        with self._lock:
            started = time.monotonic()
            if self.advisory and (self._conn is None or not self._advisory_held):
                self._lost()
                return False
            stmt = (
                _T.update()
                .where(_T.c.name == self.name, _T.c.owner == self.owner)
                .values(expires_at=_db_now_plus(self.dialect, self.ttl))
            )
            try:
                ok = self._execute(stmt) == 1
            except SQLAlchemyError:
                if self.advisory:
                    self._lost()
                    self._drop_connection(broken=True)
                raise
            if ok:
                self._deadline = started + self.ttl - self.safety_margin
            else:
                log.warning("lease %r: renewal refused, %s is no longer the owner", self.name, self.owner)
                self._lost()
                try:
                    self._unlock_advisory()
                except SQLAlchemyError:
                    self._drop_connection(broken=True)
            return bool(ok)

    def release(self) -> None:
        """Give the lease up now (row deleted, advisory lock released, connection returned)."""
        with self._lock:
            self._lost()
            broken = False
            try:
                if not self.advisory or self._conn is not None:
                    self._execute(_T.delete().where(_T.c.name == self.name, _T.c.owner == self.owner))
                self._unlock_advisory()
            except SQLAlchemyError:
                broken = True
                log.warning("lease %r: release failed; it will expire on its own", self.name, exc_info=True)
            finally:
                self._drop_connection(broken=broken)

    # --- internals --------------------------------------------------------------------------
    def _lost(self) -> None:
        self._deadline = 0.0

    def _execute(self, stmt: sa.Executable) -> Any:
        """Run one statement in its own transaction: rowcount for DML, the scalar for a SELECT.

        PostgreSQL: on the dedicated AUTOCOMMIT connection (which holds the advisory lock).
        SQLite/others: a short pooled transaction (no savepoints: pysqlite mishandles them).
        """
        if self.advisory:
            result = self._connection().execute(stmt)
            return result.scalar() if result.returns_rows else result.rowcount
        with self.engine.begin() as conn:
            result = conn.execute(stmt)
            return result.scalar() if result.returns_rows else result.rowcount

    def _take_advisory(self) -> bool:
        if not self._advisory_held:
            self._advisory_held = bool(self._execute(sa.select(sa.func.pg_try_advisory_lock(self.key))))
        return self._advisory_held

    def _claim_row(self, started: float) -> bool:
        later = _db_now_plus(self.dialect, self.ttl)
        update = (
            _T.update()
            .where(
                _T.c.name == self.name,
                sa.or_(_T.c.owner == self.owner, _T.c.expires_at < _db_now(self.dialect)),
            )
            .values(owner=self.owner, expires_at=later)
        )
        ok = self._execute(update) == 1
        if not ok:
            try:
                self._execute(_T.insert().values(name=self.name, owner=self.owner, expires_at=later))
                ok = True
            except IntegrityError:
                ok = False
        if ok:
            self._deadline = started + self.ttl - self.safety_margin
            return True
        self._lost()
        left = self._execute(sa.select(_seconds_left(self.dialect)).where(_T.c.name == self.name))
        self.retry_after = None if left is None else max(0.0, float(left))
        return False

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self.engine.connect()
            conn.execution_options(isolation_level="AUTOCOMMIT")
            self._conn = conn
            self._advisory_held = False
        return self._conn

    def _unlock_advisory(self) -> None:
        if self._conn is not None and self._advisory_held:
            self._advisory_held = False
            self._conn.execute(sa.select(sa.func.pg_advisory_unlock(self.key)))
        self._advisory_held = False

    def _drop_connection(self, *, broken: bool) -> None:
        """Return the dedicated connection; a broken one is invalidated so the pool never reuses it
        (closing its server session, which also frees any session lock)."""
        conn, self._conn = self._conn, None
        self._advisory_held = False
        if conn is None:
            return
        try:
            if broken and not conn.invalidated:
                conn.invalidate()
        except Exception:  # pragma: no cover - best effort on an already broken connection
            log.debug("lease %r: error while invalidating the connection", self.name, exc_info=True)
        finally:
            try:
                conn.close()
            except Exception:  # pragma: no cover
                log.debug("lease %r: error while closing the connection", self.name, exc_info=True)
