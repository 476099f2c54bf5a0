"""LeaderLease on SQLite and PostgreSQL: exclusivity, renewal, expiry by the database's clock,
release, and on PostgreSQL the session-level advisory lock on a dedicated connection."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from .support import Db, unique_name

from chatbot.store.lease import SchedulerLease, advisory_key, lease_status, LeaderLease  # isort: skip

T = SchedulerLease.__table__  # type: ignore[attr-defined]


def db_now(engine: sa.Engine) -> datetime:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return conn.execute(sa.select(sa.func.now())).scalar_one()
    return datetime.now(UTC)


def test_only_one_holder_then_release_hands_over(db: Db) -> None:
    name = unique_name()
    a, b = LeaderLease(db.engine(), name, ttl=5), LeaderLease(db.engine(), name, ttl=5)
    try:
        assert a.try_acquire() and a.held()
        assert not b.try_acquire() and not b.held()
        assert a.try_acquire(), "re-acquiring our own lease is a renewal"
        assert a.renew() and a.held()
        assert not b.renew(), "renewing a lease we never had fails"
        a.release()
        assert not a.held()
        assert b.try_acquire() and b.held()
        assert not a.try_acquire()
    finally:
        a.release()
        b.release()


def test_row_holds_owner_and_db_clock_expiry(db: Db) -> None:
    engine = db.engine()
    name = unique_name()
    lease = LeaderLease(engine, name, ttl=30)
    try:
        before = db_now(engine)
        assert lease.try_acquire()
        status = lease_status(engine, name)
        assert status is not None and status.owner == lease.owner and not status.expired
        assert status.expires_at.tzinfo is not None and status.expires_at.utcoffset() == timedelta(0)
        expected = before + timedelta(seconds=30)
        assert abs((status.expires_at - expected).total_seconds()) < 2
        assert status.seconds_left is not None and 28 < status.seconds_left <= 30
    finally:
        lease.release()
    assert lease_status(engine, name) is None, "release deletes the row"


@pytest.mark.parametrize("advisory", [False])
def test_expired_lease_is_taken_over_and_old_holder_cannot_renew(db: Db, advisory: bool) -> None:
    """Row-only semantics (SQLite always; PostgreSQL with advisory_lock=False)."""
    name = unique_name()
    a = LeaderLease(db.engine(), name, ttl=0.6, advisory_lock=advisory)
    b = LeaderLease(db.engine(), name, ttl=0.6, advisory_lock=advisory)
    try:
        assert a.try_acquire()
        assert not b.try_acquire()
        assert b.retry_after is not None and 0 < b.retry_after <= 0.6
        t0 = time.monotonic()
        time.sleep(0.6 - a.safety_margin + 0.01)
        assert not a.held(), "held() lapses before the database expiry (safety margin)"
        time.sleep(max(0.0, 0.62 - (time.monotonic() - t0)))
        assert b.try_acquire(), "expired by the database's clock: anyone may take it"
        assert not a.renew() and not a.held()
        assert not a.try_acquire()
    finally:
        a.release()
        b.release()


def test_held_needs_renewals(db: Db) -> None:
    lease = LeaderLease(db.engine(), unique_name(), ttl=0.5)
    try:
        assert lease.try_acquire()
        for _ in range(4):  # 0.6 s in total, beyond one ttl: renewals keep it
            time.sleep(0.15)
            assert lease.renew() and lease.held()
        time.sleep(0.5)
        assert not lease.held()
    finally:
        lease.release()


def test_lease_validation(sqlite_db: Db) -> None:
    engine = sqlite_db.engine()
    with pytest.raises(ValueError):
        LeaderLease(engine, "x", ttl=0)
    with pytest.raises(ValueError):
        LeaderLease(engine, "", ttl=1)
    with pytest.raises(ValueError, match="PostgreSQL"):
        LeaderLease(engine, "x", ttl=1, advisory_lock=True)
    assert LeaderLease(engine, "x").advisory is False


# --- PostgreSQL advisory lock ----------------------------------------------------------------------
def advisory_holder_pids(engine: sa.Engine, key: int) -> list[int]:
    k = key & 0xFFFFFFFFFFFFFFFF
    stmt = sa.text(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1"
    )
    with engine.connect() as conn:
        return list(conn.execute(stmt, {"hi": k >> 32, "lo": k & 0xFFFFFFFF}).scalars())


@pytest.mark.postgres
def test_pg_session_advisory_lock_survives_commits_and_excludes(pg_db: Db) -> None:
    engine = pg_db.engine()
    name = unique_name()
    a = LeaderLease(engine, name, ttl=5)
    assert a.advisory
    try:
        assert a.try_acquire()
        for _ in range(3):
            assert a.renew()  # each renewal commits (autocommit); the session lock stays
        assert len(advisory_holder_pids(engine, a.key)) == 1
        with engine.connect() as other:
            assert other.execute(sa.select(sa.func.pg_try_advisory_lock(a.key))).scalar() is False
        # Even with the row expired by hand, nobody else gets in while the holder's session lives.
        with engine.begin() as conn:
            conn.execute(T.update().where(T.c.name == name).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC)))
        b = LeaderLease(engine, name, ttl=5)
        assert not b.try_acquire()
        b.release()
    finally:
        a.release()
    assert advisory_holder_pids(engine, a.key) == []


@pytest.mark.postgres
def test_pg_holder_session_killed_ends_leadership(pg_db: Db) -> None:
    engine = pg_db.engine()
    name = unique_name()
    a, b = LeaderLease(engine, name, ttl=1.0), LeaderLease(engine, name, ttl=1.0)
    try:
        assert a.try_acquire()
        [pid] = advisory_holder_pids(engine, a.key)
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.pg_terminate_backend(pid))).scalar()
        with pytest.raises(sa.exc.DBAPIError):
            a.renew()
        assert not a.held(), "a broken session ends the leadership at once"
        # b gets the advisory lock now, but must still wait for a's row to expire.
        assert not b.try_acquire()
        assert advisory_holder_pids(engine, b.key) != []
        time.sleep((b.retry_after or 0) + 0.05)
        assert b.try_acquire()
        assert not a.try_acquire(), "a reconnects but b holds the advisory lock"
    finally:
        a.release()
        b.release()


def test_advisory_key_is_stable_and_signed_64_bit() -> None:
    k = advisory_key("scheduler")
    assert k == advisory_key("scheduler") != advisory_key("other")
    assert -(2**63) <= k < 2**63
