"""APScheduler on the project database: the job table, the job store, the executor, (re-)registering specs.

Why it exists: these are the places where stock APScheduler 3 behaviour has to be bent to run
safely next to other processes, and they are easiest to trust in one place. The job store lives in
the project database (table `apscheduler_jobs`, created by the migration, never by the store: its
CREATE TABLE races when two instances boot together on PostgreSQL) and must not dispose the shared
engine. Jobs are re-added at every start with `replace_existing=True` and explicit settings
(scheduler `job_defaults` are frozen into stored jobs, so they are never relied upon); a stored job
whose trigger is unchanged keeps its `next_run_time`, so a run missed during downtime is still
caught up. The executor can be drained for a bounded time before shutdown. Nothing here elects a
leader; `leader.py` starts a scheduler built here only while it holds the lease.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.base import BaseJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from chatbot.store.db import table_of
from chatbot.store.lease import SchedulerLease

from .specs import JobSpec

log = logging.getLogger(__package__)  # one logger for the package: "chatbot.scheduler"

JOBS_TABLE = "apscheduler_jobs"


def apscheduler_jobs_table(metadata: sa.MetaData, tablename: str = JOBS_TABLE) -> sa.Table:
    """Add (once) the exact table `SQLAlchemyJobStore` uses to `metadata`, for the migration.

    Taken from the installed APScheduler rather than retyped, so it cannot drift:
    id VARCHAR(191) PK, next_run_time FLOAT(25) indexed, job_state BLOB/BYTEA NOT NULL.
    """
    if tablename in metadata.tables:
        return metadata.tables[tablename]
    probe = sa.create_engine("sqlite://")  # never connected; the store only needs an engine object
    try:
        store_table: sa.Table = SQLAlchemyJobStore(engine=probe, tablename=tablename).jobs_t
        return store_table.to_metadata(metadata)
    finally:
        probe.dispose()


def create_scheduler_tables(engine: Engine, jobs_table: str = JOBS_TABLE) -> None:
    """Create `scheduler_lease` and the job table if missing. Tests and throwaway databases only:
    production gets them from the Alembic migration (concurrent CREATE TABLE races on PostgreSQL)."""
    md = sa.MetaData()
    table_of(SchedulerLease).to_metadata(md)
    apscheduler_jobs_table(md, jobs_table)
    md.create_all(engine)


def missing_tables(engine: Engine, jobs_table: str) -> list[str]:
    """The scheduler's tables that the database lacks (the leader refuses to start without them)."""
    names = set(sa.inspect(engine).get_table_names())
    return [t for t in (SchedulerLease.__tablename__, jobs_table) if t not in names]


class _ProjectJobStore(SQLAlchemyJobStore):  # type: ignore[misc]  # APScheduler 3 ships no type hints
    """The stock store on the project engine, minus two behaviours that hurt here: `start()` no
    longer runs CREATE TABLE (the boot race), and `shutdown()` no longer disposes the shared engine."""

    def start(self, scheduler: Any, alias: str) -> None:
        BaseJobStore.start(self, scheduler, alias)

    def shutdown(self) -> None:
        pass


class DrainableAsyncIOExecutor(AsyncIOExecutor):  # type: ignore[misc]  # APScheduler 3 ships no type hints
    """AsyncIOExecutor whose in-flight jobs can be awaited for a bounded time before shutdown
    (the stock `shutdown()` cancels them at once and cannot wait)."""

    async def drain(self, timeout: float) -> int:
        """Wait up to `timeout` s for running jobs; return how many are still running."""
        pending = [f for f in getattr(self, "_pending_futures", ()) if not f.done()]
        if pending and timeout > 0:
            await asyncio.wait(pending, timeout=timeout)
        return sum(not f.done() for f in pending)


def build_scheduler(
    engine: Engine, *, jobs_table: str = JOBS_TABLE, executor: AsyncIOExecutor | None = None
) -> AsyncIOScheduler:
    """A fresh, unstarted AsyncIOScheduler on the project database (UTC). Start it only while
    holding the lease; `LeaderScheduler` does that for you."""
    return AsyncIOScheduler(
        timezone=UTC,
        jobstores={"default": _ProjectJobStore(engine=engine, tablename=jobs_table)},
        executors={"default": executor or DrainableAsyncIOExecutor()},
    )


def _trigger_key(trigger: BaseTrigger) -> tuple[Any, ...]:
    """What makes two triggers "the same schedule" (start dates computed at add time excluded)."""
    if isinstance(trigger, IntervalTrigger):
        return ("interval", trigger.interval_length, str(trigger.timezone), trigger.jitter)
    if isinstance(trigger, CronTrigger):
        fields = tuple((f.name, str(f)) for f in trigger.fields)
        return ("cron", fields, str(trigger.timezone), trigger.jitter)
    return ("other", repr(trigger))


def register_jobs(scheduler: AsyncIOScheduler, specs: Sequence[JobSpec], *, prune: bool = True) -> None:
    """(Re-)add every spec to a started (typically paused) scheduler: one row per id, explicit
    settings, stored `next_run_time` kept when the trigger is unchanged. With `prune`, stored jobs
    that no spec declares any more are removed (the specs are the whole truth)."""
    ids = {s.id for s in specs}
    if len(ids) != len(specs):
        raise ValueError("duplicate job ids in specs")
    for spec in specs:
        spec.resolve()
        trigger = spec.build_trigger()
        extra: dict[str, Any] = {}
        try:
            existing = scheduler.get_job(spec.id)
        except SQLAlchemyError:
            raise  # the database is the problem, not the stored job: never overwrite it for that
        except Exception:  # unrestorable pickle (e.g. renamed function): overwrite it
            log.warning("job %s: stored state unreadable, replacing it", spec.id, exc_info=True)
            existing = None
        if existing is not None and _trigger_key(existing.trigger) == _trigger_key(trigger):
            extra["next_run_time"] = existing.next_run_time  # None keeps a paused job paused
        scheduler.add_job(
            spec.func_ref,
            trigger,
            id=spec.id,
            name=spec.id,
            kwargs=dict(spec.kwargs),
            replace_existing=True,
            coalesce=spec.coalesce,
            max_instances=spec.max_instances,
            misfire_grace_time=spec.misfire_grace_seconds,
            **extra,
        )
    if prune:
        for job in scheduler.get_jobs():
            if job.id not in ids:
                log.info("job %s: no longer declared, removing it from the store", job.id)
                job.remove()
