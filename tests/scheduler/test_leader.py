"""LeaderScheduler in one process: one leader among several instances, graceful handover,
stepping down when the lease is taken away, bounded stop, and the fencing helpers."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from .support import Db, Recorder, func_ref, unique_name

from chatbot import scheduler as sched_mod  # isort: skip
from chatbot.scheduler import JobSpec, LeaderScheduler, context, ensure_leader, is_leader  # isort: skip
from chatbot.store.lease import LeaderLease, SchedulerLease  # isort: skip

T = SchedulerLease.__table__  # type: ignore[attr-defined]


async def tick() -> None:
    rec: Recorder = context()
    rec.runs.append(("tick", time.monotonic()))


async def slow() -> None:
    rec: Recorder = context()
    rec.runs.append(("slow", time.monotonic()))
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        rec.cancelled.append("slow")
        raise


async def fenced() -> None:
    rec: Recorder = context()
    ensure_leader()
    rec.runs.append(("fenced", time.monotonic()))


def tick_spec(seconds: float = 0.1) -> JobSpec:
    return JobSpec.interval("tick", func_ref(tick), seconds=seconds, misfire_grace_seconds=30)


async def test_one_leader_and_graceful_handover(db: Db, recorder: Recorder) -> None:
    name = unique_name()
    changes: list[tuple[str, bool]] = []
    a = LeaderScheduler(
        db.engine(), [tick_spec()], lease_name=name, ttl=1.5, on_change=lambda v: changes.append(("a", v))
    )
    b = LeaderScheduler(
        db.engine(), [tick_spec()], lease_name=name, ttl=1.5, on_change=lambda v: changes.append(("b", v))
    )
    await a.start()
    assert await a.wait_for_leadership(2)
    await b.start()
    try:
        await asyncio.sleep(0.6)
        assert not b.is_leader and b.scheduler is None
        assert a.scheduler is not None
        assert len(recorder.runs) >= 3
        t0 = time.monotonic()
        await a.stop()  # releases the lease: b does not wait for expiry
        assert not a.is_leader and a.scheduler is None
        assert await b.wait_for_leadership(2)
        assert time.monotonic() - t0 < 1.5 / 3 + 0.3
        n = len(recorder.runs)
        await asyncio.sleep(0.35)
        assert len(recorder.runs) > n, "the job keeps running under the new leader"
    finally:
        await a.stop()
        await b.stop()
    assert changes == [("a", True), ("a", False), ("b", True), ("b", False)]


async def test_steps_down_when_the_lease_is_taken(db: Db, recorder: Recorder) -> None:
    engine = db.engine()
    name = unique_name()
    leader = LeaderScheduler(engine, [tick_spec()], lease_name=name, ttl=1.2)
    await leader.start()
    try:
        assert await leader.wait_for_leadership(2)
        assert is_leader()
        with engine.begin() as conn:  # another owner with a long lease (e.g. after a long pause)
            conn.execute(
                T.update()
                .where(T.c.name == name)
                .values(owner="thief", expires_at=datetime.now(UTC) + timedelta(hours=1))
            )
        await asyncio.sleep(1.2 / 3 + 0.2)  # the next renewal notices
        assert not leader.is_leader and leader.scheduler is None and not is_leader()
        n = len(recorder.runs)
        await asyncio.sleep(0.3)
        assert len(recorder.runs) == n, "no job runs once the lease is gone"
    finally:
        await leader.stop()
    with engine.connect() as conn:
        assert conn.execute(sa.select(T.c.owner).where(T.c.name == name)).scalar() == "thief"


async def test_stop_does_not_wait_forever_for_running_jobs(sqlite_db: Db, recorder: Recorder) -> None:
    s = JobSpec.interval("slow", func_ref(slow), seconds=0.1, misfire_grace_seconds=30)
    leader = LeaderScheduler(sqlite_db.engine(), [s], lease_name=unique_name(), ttl=3, stop_grace_seconds=0.2)
    await leader.start()
    assert await leader.wait_for_leadership(2)
    await asyncio.sleep(0.3)
    assert recorder.runs, "the slow job started"
    t0 = time.monotonic()
    await leader.stop()
    assert time.monotonic() - t0 < 1.0
    await asyncio.sleep(0.05)
    assert recorder.cancelled == ["slow"]


async def test_fencing_helpers(sqlite_db: Db, recorder: Recorder) -> None:
    assert not is_leader()
    with pytest.raises(sched_mod.NotLeaderError):
        ensure_leader()
    s = JobSpec.interval("fenced", func_ref(fenced), seconds=0.1, misfire_grace_seconds=30)
    async with LeaderScheduler(sqlite_db.engine(), [s], lease_name=unique_name(), ttl=3) as leader:
        assert await leader.wait_for_leadership(2)
        await asyncio.sleep(0.25)
        assert is_leader() and recorder.runs
    assert not is_leader()


def test_context_must_be_set() -> None:
    sched_mod.clear_context()
    with pytest.raises(RuntimeError, match="set_context"):
        context()


class HangingLease(LeaderLease):
    """A lease whose renewal can be made to hang, like a database call on a partitioned network."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hang = False
        self.unblock = threading.Event()

    def renew(self) -> bool:
        if self.hang:
            self.unblock.wait(10)
        return super().renew()


async def test_hung_renewal_stops_scheduler_at_lease_deadline(sqlite_db: Db, recorder: Recorder) -> None:
    engine = sqlite_db.engine()
    lease = HangingLease(engine, unique_name(), ttl=1.2)
    leader = LeaderScheduler(engine, [tick_spec()], lease=lease)
    await leader.start()
    try:
        assert await leader.wait_for_leadership(2)
        lease.hang = True
        t0 = time.monotonic()
        while leader.scheduler is not None and time.monotonic() - t0 < 3:
            await asyncio.sleep(0.02)
        assert leader.scheduler is None and not leader.is_leader
        assert time.monotonic() - t0 <= 1.2, "stopped no later than the lease's own deadline"
        n = len(recorder.runs)
        await asyncio.sleep(0.3)
        assert len(recorder.runs) == n
        lease.hang = False
        lease.unblock.set()  # the database answers again: the row is still ours, leadership resumes
        assert await leader.wait_for_leadership(2)
    finally:
        lease.unblock.set()
        await leader.stop()
