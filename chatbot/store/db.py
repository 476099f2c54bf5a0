"""Database engine and sessions: one place that knows how to open SQLite or PostgreSQL.

SQLite (the embedded default) gets WAL, foreign keys and a busy timeout on every connection.
PostgreSQL is reached through psycopg 3 (`postgresql+psycopg://…`). Sessions are short and
synchronous: every core operation is a few small statements.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, CursorResult, Engine, Result
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel

SQLITE_BUSY_TIMEOUT_MS = 5000
PING_AFTER_IDLE_SECONDS = 10.0
T = TypeVar("T")


def normalize_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` and route them to psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str, *, workers: int | None = None, **kwargs: Any) -> Engine:
    """`workers`: how many of the core's worker threads will share it (`CHATBOT_WORKERS`); the
    PostgreSQL pool keeps that many connections open, plus a few for the loop's own threads."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):  # one in-memory database, whichever thread asks
            kwargs.setdefault("poolclass", StaticPool)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if workers is not None:
        kwargs.setdefault("pool_size", workers + 2)
    engine = sa.create_engine(url, **kwargs)
    event.listen(engine, "checkin", _checked_in)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _checked_in(dbapi_conn: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_conn: Any, record: Any, proxy: Any) -> None:
    """SQLAlchemy's pre-ping, only for a connection that sat idle a while (the server may have dropped
    it): pinging every checkout would cost a round trip per store call, a dozen per command. A dead
    one is replaced before anyone uses it; one dropped while busy fails its statement, and the pool
    then drops all its connections."""
    if time.monotonic() - record.info.get("idle_since", time.monotonic()) < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_conn.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
    except Exception as error:
        raise exc.DisconnectionError(f"stale connection: {type(error).__name__}") from error


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that may hold the write lock from its first statement, committed on success.

    On SQLite it starts with `BEGIN IMMEDIATE`: the database's one write lock is taken (waiting up
    to the busy timeout) before anything is read, so a read-then-write cannot interleave with
    another process's. On PostgreSQL the caller locks what it reads (`SELECT … FOR UPDATE`).
    """
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise


def on_conflict_retry(action: Callable[[], T], attempts: int = 5) -> T:
    """Run a read-then-write `action` again when another process wrote the same row first (two
    processes starting together both seeding members or a tag): the second run sees their row."""
    for _ in range(attempts - 1):
        try:
            return action()
        except exc.IntegrityError:
            continue
    return action()


def database_unavailable(error: BaseException) -> bool:
    """The database cannot be used right now (down, unreachable, full, read-only, corrupt): not a bug of ours."""
    if isinstance(error, exc.OperationalError | exc.InterfaceError | exc.InternalError):
        return True
    return type(error) is exc.DatabaseError  # e.g. SQLite "file is not a database"


def database_problem(error: BaseException) -> str | None:
    """One line saying why the database cannot be used, or None when `error` is not about that."""
    if isinstance(error, exc.ArgumentError | exc.NoSuchModuleError):
        return f"not a usable database URL ({error})"
    if isinstance(error, exc.DBAPIError) and not database_unavailable(error):
        return None
    if not isinstance(error, exc.DBAPIError):
        return None
    text = str(error.orig) if error.orig is not None else str(error)
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return first[:300]


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (a conditional UPDATE's "did I win?")."""
    return cast(CursorResult[Any], result).rowcount


def table_of(model: type[SQLModel]) -> sa.Table:
    """The SQLAlchemy table of a SQLModel class (typed; SQLModel leaves `__table__` untyped)."""
    return SQLModel.metadata.tables[str(model.__tablename__)]
