"""Job persistence through the project job store: restart survival, idempotent re-registration,
explicit coalesce / misfire settings honoured after downtime, the job table definition, and
`list_jobs` for the CLI."""

from __future__ import annotations

import asyncio
import pickle
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

from .support import Db, Recorder, func_ref, unique_name

from chatbot.config import AlertsConfig  # isort: skip
from chatbot.scheduler import (  # isort: skip
    JOBS_TABLE,
    JobSpec,
    LeaderScheduler,
    apscheduler_jobs_table,
    build_scheduler,
    context,
    desk_job_specs,
    list_jobs,
    register_jobs,
)
from chatbot.store.lease import lease_status  # isort: skip


async def record_run(tag: str = "") -> None:
    context().runs.append((tag, asyncio.get_running_loop().time()))


def sync_job() -> None:  # not async: refused
    pass


def spec(job_id: str = "margin_check", seconds: float = 10, **opts: object) -> JobSpec:
    return JobSpec.interval(job_id, func_ref(record_run), seconds=seconds, kwargs={"tag": job_id}, **opts)


async def boot(db: Db, specs: list[JobSpec], *, shift_next_run_by: float | None = None) -> None:
    """One scheduler life without running anything: start paused, register, optionally move
    `next_run_time` into the past (simulated downtime), shut down."""
    sched = build_scheduler(db.engine())
    sched.start(paused=True)
    register_jobs(sched, specs)
    if shift_next_run_by is not None:
        for s in specs:
            sched.modify_job(s.id, next_run_time=datetime.now(UTC) + timedelta(seconds=shift_next_run_by))
    sched.shutdown(wait=False)
    await asyncio.sleep(0)


def stored_rows(db: Db) -> list[tuple[str, dict[str, object]]]:
    table = apscheduler_jobs_table(sa.MetaData())
    with db.engine().connect() as conn:
        rows = conn.execute(sa.select(table.c.id, table.c.job_state)).all()
    return [(r.id, pickle.loads(r.job_state)) for r in rows]


async def run_leader(db: Db, specs: list[JobSpec], seconds: float, **kw: object) -> LeaderScheduler:
    leader = LeaderScheduler(db.engine(), specs, lease_name=unique_name(), ttl=5, **kw)  # type: ignore[arg-type]
    await leader.start()
    try:
        assert await leader.wait_for_leadership(3)
        await asyncio.sleep(seconds)
    finally:
        await leader.stop()
    return leader


async def test_jobs_survive_restart_and_readd_keeps_one_row(db: Db) -> None:
    await boot(db, [spec()])
    [(job_id, state)] = stored_rows(db)
    assert job_id == "margin_check" and state["kwargs"] == {"tag": "margin_check"}
    first_next = state["next_run_time"]
    for _ in range(3):  # three more boots: still one row, same schedule
        await boot(db, [spec()])
    [(job_id, state)] = stored_rows(db)
    assert state["next_run_time"] == first_next, "an unchanged trigger keeps the stored next run"
    assert state["func"] == func_ref(record_run)

    sched = build_scheduler(db.engine())  # a fresh scheduler sees the job without re-adding it
    sched.start(paused=True)
    try:
        job = sched.get_job("margin_check")
        assert job is not None and job.kwargs == {"tag": "margin_check"} and job.next_run_time == first_next
    finally:
        sched.shutdown(wait=False)
        await asyncio.sleep(0)


async def test_changed_trigger_reschedules_and_removed_spec_is_pruned(db: Db) -> None:
    await boot(db, [spec(seconds=10), spec("old_job")])
    before = dict(stored_rows(db))["margin_check"]["next_run_time"]
    await boot(db, [spec(seconds=3600)])
    rows = dict(stored_rows(db))
    assert set(rows) == {"margin_check"}, "jobs no spec declares any more are removed"
    assert rows["margin_check"]["next_run_time"] > before + timedelta(seconds=3000)


async def test_explicit_settings_replace_stored_ones(db: Db) -> None:
    await boot(db, [spec(coalesce=False, misfire_grace_seconds=7, max_instances=3)])
    await boot(db, [spec(coalesce=True, misfire_grace_seconds=42, max_instances=1)])
    [(_, state)] = stored_rows(db)
    assert (state["coalesce"], state["misfire_grace_time"], state["max_instances"]) == (True, 42, 1)


@pytest.mark.parametrize(("coalesce", "expected_runs"), [(True, 1), (False, 6)])
async def test_coalesce_after_downtime(db: Db, recorder: Recorder, coalesce: bool, expected_runs: int) -> None:
    # 10 s interval, next run 55 s ago: due at -55, -45, ..., -5 (6 runs), next regular one in ~5 s.
    s = spec(seconds=10, coalesce=coalesce, misfire_grace_seconds=300, max_instances=10)
    await boot(db, [s], shift_next_run_by=-55)
    await run_leader(db, [s], 0.5)
    assert len(recorder.runs) == expected_runs
    [(_, state)] = stored_rows(db)
    assert state["next_run_time"] > datetime.now(UTC), "rescheduled into the future after catching up"


async def test_misfire_grace_after_downtime(db: Db, recorder: Recorder) -> None:
    # due at -105, -95, ..., -5 (11 runs); grace 30 s: only -25, -15, -5 run, 8 are missed.
    s = spec(seconds=10, coalesce=False, misfire_grace_seconds=30, max_instances=20)
    await boot(db, [s], shift_next_run_by=-105)
    missed: list[JobExecutionEvent] = []
    executed: list[JobExecutionEvent] = []
    await run_leader(
        db,
        [s],
        0.5,
        listeners=[(missed.append, EVENT_JOB_MISSED), (executed.append, EVENT_JOB_EXECUTED)],
    )
    assert (len(recorder.runs), len(executed), len(missed)) == (3, 3, 8)


async def test_list_jobs_reads_store_without_a_leader(db: Db) -> None:
    alerts = AlertsConfig(monitor_interval_seconds=30, interest_summary_time=time(0, 5))
    specs = desk_job_specs(alerts, monitor_ref=func_ref(record_run), summary_ref=func_ref(record_run))
    engine = db.engine()
    jobs = list_jobs(engine, specs)
    assert [(j.id, j.configured, j.stored, j.next_run_time) for j in jobs] == [
        ("interest_summary", True, False, None),
        ("margin_monitor", True, False, None),
    ]
    await boot(db, specs)
    jobs = {j.id: j for j in list_jobs(engine, specs)}
    summary, monitor = jobs["interest_summary"], jobs["margin_monitor"]
    assert monitor.stored and monitor.trigger == "interval[0:00:30]" and monitor.coalesce is True
    assert monitor.misfire_grace_seconds == alerts.misfire_grace_seconds and monitor.max_instances == 1
    assert summary.trigger is not None and "hour='0', minute='5'" in summary.trigger
    assert summary.next_run_time is not None and summary.next_run_time.tzinfo is not None
    assert (summary.next_run_time.hour, summary.next_run_time.minute) == (0, 5)
    assert list_jobs(engine, [])[0].configured is False
    assert lease_status(engine) is None, "listing jobs never takes the lease"


def test_jobs_table_definition_matches_the_store() -> None:
    md = sa.MetaData()
    ours = apscheduler_jobs_table(md)
    assert apscheduler_jobs_table(md) is ours, "idempotent on one MetaData"
    theirs = SQLAlchemyJobStore(url="sqlite://").jobs_t
    assert ours.name == JOBS_TABLE == theirs.name
    assert [(c.name, repr(c.type), c.primary_key, c.nullable, bool(c.index)) for c in ours.columns] == [
        (c.name, repr(c.type), c.primary_key, c.nullable, bool(c.index)) for c in theirs.columns
    ]


async def test_scheduler_never_creates_its_table(tmp_path: object) -> None:
    from chatbot.store.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path}/empty.db")
    sched = build_scheduler(engine)
    sched.start(paused=True)
    sched.shutdown(wait=False)
    await asyncio.sleep(0)
    assert not sa.inspect(engine).has_table(JOBS_TABLE)
    with pytest.raises(RuntimeError, match="migrations"):
        await LeaderScheduler(engine, [spec()]).start()
    engine.dispose()


def test_job_spec_validation() -> None:
    with pytest.raises(ValueError, match="module:function"):
        JobSpec.interval("a", "no_colon", seconds=1)
    with pytest.raises(ValueError, match="seconds > 0"):
        JobSpec.interval("a", "m:f", seconds=0)
    with pytest.raises(ValueError, match="cron"):
        JobSpec("a", "m:f", ("cron", {"hours": 1}))
    with pytest.raises(ValueError, match="trigger"):
        JobSpec("a", "m:f", ("date", {}))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="picklable"):
        JobSpec.interval("a", "m:f", seconds=1, kwargs={"f": lambda: None})
    with pytest.raises(TypeError, match="async"):
        JobSpec.interval("a", func_ref(sync_job), seconds=1).resolve()
    with pytest.raises(ValueError, match="cannot import"):
        JobSpec.interval("a", "chatbot.nope:f", seconds=1).resolve()
    cron = JobSpec.cron("s", func_ref(record_run), hour=0, minute=5).build_trigger()
    assert str(cron.timezone) == "UTC"
