"""APScheduler wiring: persisted periodic jobs, run by exactly one process at a time.

Why this module exists: the margin monitor and the daily interest summary must fire on schedule
across restarts (so the job store is the project database, table `apscheduler_jobs`), and never
twice when two bot processes run at once (rolling deploy, double start). APScheduler 3 cannot share
a job store between schedulers, so a `LeaderLease` (`chatbot.store.lease`) elects one process; only
it starts an `AsyncIOScheduler`, and it stops that scheduler as soon as it stops holding the lease.

Rules this module enforces, each learnt the hard way (see the offline-testing notes, §4):

- Jobs are declared as `JobSpec`s and re-added at every start with `replace_existing=True` and
  explicit `coalesce`, `max_instances` and `misfire_grace_time` (scheduler `job_defaults` are frozen
  into stored jobs, so they are never relied upon). A stored job whose trigger is unchanged keeps its
  stored `next_run_time`, so a run missed during downtime is still caught up (coalesced, within the
  grace time) instead of being silently rescheduled.
- Job callables are importable `async def` functions named "module:function" (persisted jobs cannot
  carry closures). They get the desk core, exchange, etc. from the process-wide registry:
  `set_context(obj)` at boot, `context()` inside the job; and they call `ensure_leader()` (or check
  `is_leader()`) right before side effects, as a fencing check.
- The scheduler never creates its table: `SQLAlchemyJobStore.start()` runs `CREATE TABLE IF NOT
  EXISTS`, which races when two instances boot together on PostgreSQL. The migration creates it
  (`apscheduler_jobs_table(metadata)` gives the exact definition).
- `list_jobs()` reads the store directly (for `chatbot jobs list`) without electing anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from apscheduler.events import JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING, STATE_STOPPED
from sqlalchemy.engine import Engine

from chatbot.store.lease import DEFAULT_LEASE_NAME, LeaderLease

if TYPE_CHECKING:
    from chatbot.config import AlertsConfig

from . import job_context
from .job_context import NotLeaderError, clear_context, context, ensure_leader, is_leader, set_context
from .jobstore import (
    JOBS_TABLE,
    DrainableAsyncIOExecutor,
    apscheduler_jobs_table,
    build_scheduler,
    create_scheduler_tables,
    missing_tables,
    register_jobs,
)
from .specs import (
    DESK_JOBS,
    INTEREST_SUMMARY,
    INTEREST_SUMMARY_JOB,
    INTEREST_SUMMARY_REF,
    MARGIN_MONITOR,
    MARGIN_MONITOR_JOB,
    MARGIN_MONITOR_REF,
    DeskJob,
    JobSpec,
    TriggerKind,
    desk_job_specs,
)

__all__ = [
    "DESK_JOBS",
    "INTEREST_SUMMARY",
    "INTEREST_SUMMARY_JOB",
    "INTEREST_SUMMARY_REF",
    "JOBS_TABLE",
    "MARGIN_MONITOR",
    "MARGIN_MONITOR_JOB",
    "MARGIN_MONITOR_REF",
    "DeskJob",
    "JobInfo",
    "JobSpec",
    "LeaderScheduler",
    "Listener",
    "NotLeaderError",
    "TriggerKind",
    "apscheduler_jobs_table",
    "build_scheduler",
    "clear_context",
    "context",
    "create_scheduler_tables",
    "desk_job_specs",
    "ensure_leader",
    "is_leader",
    "list_jobs",
    "register_jobs",
    "set_context",
]

log = logging.getLogger(__name__)




# --- the leader loop ------------------------------------------------------------------------------
Listener = tuple[Callable[[JobEvent], None], int]


class LeaderScheduler:
    """Competes for the lease; while it holds it, runs an AsyncIOScheduler with `specs`.

    The loop renews every ttl/3; a standby retries every ttl/3, or right when the holder's lease
    expires if that is sooner, so it takes over within one lease period after the leader dies.
    When the lease is lost the scheduler is paused at once, running jobs get at most
    `stop_grace_seconds` (never past the lease's own deadline) and are then cancelled.
    """

    def __init__(
        self,
        engine: Engine,
        specs: Sequence[JobSpec],
        *,
        lease: LeaderLease | None = None,
        lease_name: str = DEFAULT_LEASE_NAME,
        ttl: float = 15.0,
        jobs_table: str = JOBS_TABLE,
        prune: bool = True,
        stop_grace_seconds: float = 5.0,
        listeners: Sequence[Listener] = (),
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.engine = engine
        self.specs = list(specs)
        self.lease = lease or LeaderLease(engine, lease_name, ttl)
        self.jobs_table = jobs_table
        self.prune = prune
        self.stop_grace_seconds = stop_grace_seconds
        self.listeners = list(listeners)
        self.on_change = on_change
        self._scheduler: AsyncIOScheduler | None = None
        self._executor: DrainableAsyncIOExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._inflight: asyncio.Future[Any] | None = None
        self._stopping = asyncio.Event()
        self._changed = asyncio.Event()

    @classmethod
    def from_config(cls, engine: Engine, alerts: AlertsConfig, specs: Sequence[JobSpec], **kw: Any) -> LeaderScheduler:
        return cls(engine, specs, ttl=float(alerts.lease_seconds), **kw)

    @property
    def is_leader(self) -> bool:
        return self.lease.held()

    @property
    def scheduler(self) -> AsyncIOScheduler | None:
        """The running scheduler while leader, else None."""
        return self._scheduler

    async def start(self) -> None:
        """Check the tables and the job callables (fail fast), then start competing in background."""
        if self._task is not None:
            raise RuntimeError("LeaderScheduler already started")
        missing = await asyncio.to_thread(missing_tables, self.engine, self.jobs_table)
        if missing:
            raise RuntimeError(f"missing tables {missing}: run the database migrations (chatbot db upgrade)")
        for spec in self.specs:
            spec.resolve()
        self._stopping.clear()
        job_context.activate(self)
        self._task = asyncio.create_task(self._run(), name="scheduler-leader")

    async def stop(self) -> None:
        """Stop scheduling (bounded wait for running jobs), then release the lease for a standby."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._end_term()
        if self._inflight is not None and not self._inflight.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._inflight), timeout=self.lease.ttl)
        try:
            await asyncio.wait_for(asyncio.to_thread(self.lease.release), timeout=self.lease.ttl)
        except TimeoutError:
            log.warning("lease %r: release timed out; it will expire on its own", self.lease.name)
        job_context.deactivate(self)

    async def __aenter__(self) -> LeaderScheduler:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_for_leadership(self, timeout: float) -> bool:
        """Test/ops helper: wait until this instance leads with a running scheduler."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (self.is_leader and self._scheduler is not None):
            left = deadline - loop.time()
            if left <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.05))
        return True

    # --- internals ----------------------------------------------------------------------------
    async def _run(self) -> None:
        ttl = self.lease.ttl
        while not self._stopping.is_set():
            was_leader = self.lease.held()
            op = self.lease.renew if was_leader else self.lease.try_acquire
            # Never wait for the database past our own deadline: a hung call must not keep a
            # scheduler running on a lease that may already belong to someone else.
            timeout = self.lease.seconds_held_left() if was_leader else ttl
            try:
                await self._call(op, timeout)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("lease %r: %s failed", self.lease.name, op.__name__, exc_info=True)
            try:
                await self._sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler term change failed")
                await self._end_term()
            if self.lease.held():
                delay = ttl / 3
            else:
                hint = self.lease.retry_after
                delay = ttl / 3 if hint is None else min(ttl / 3, hint + 0.02)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=max(0.01, delay))

    async def _call(self, op: Callable[[], bool], timeout: float) -> None:
        """Run a blocking lease operation in a thread, at most one at a time, for at most `timeout`."""
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(asyncio.to_thread(op))
        done, _ = await asyncio.wait({self._inflight}, timeout=max(0.0, timeout))
        if done:
            self._inflight.result()
        else:
            log.warning("lease %r: database call still running after %.2fs", self.lease.name, timeout)

    async def _sync(self) -> None:
        if self.lease.held() and not self._stopping.is_set():
            if self._scheduler is None:
                await self._begin_term()
        elif self._scheduler is not None:
            await self._end_term()

    async def _begin_term(self) -> None:
        executor = DrainableAsyncIOExecutor()
        sched = build_scheduler(self.engine, jobs_table=self.jobs_table, executor=executor)
        for callback, mask in self.listeners:
            sched.add_listener(callback, mask)
        sched.start(paused=True)
        try:
            await asyncio.to_thread(register_jobs, sched, self.specs, prune=self.prune)
        except BaseException:
            sched.shutdown(wait=False)
            raise
        if not self.lease.held():  # lost while registering
            sched.shutdown(wait=False)
            return
        sched.resume()
        self._scheduler, self._executor = sched, executor
        log.info("lease %r: %s is the scheduler leader", self.lease.name, self.lease.owner)
        self._notify(True)

    async def _end_term(self) -> None:
        sched, self._scheduler = self._scheduler, None
        executor, self._executor = self._executor, None
        if sched is None or sched.state == STATE_STOPPED:
            return
        if sched.state == STATE_RUNNING:
            sched.pause()  # no new submissions from here on
        grace = min(self.stop_grace_seconds, self.lease.seconds_held_left())
        if executor is not None:
            left = await executor.drain(grace)
            if left:
                log.warning("cancelling %d job(s) still running at scheduler stop", left)
        sched.shutdown(wait=False)  # cancels whatever still runs
        await asyncio.sleep(0)  # AsyncIOScheduler.shutdown is deferred to the loop
        log.info("lease %r: %s stopped scheduling", self.lease.name, self.lease.owner)
        self._notify(False)

    def _notify(self, leader: bool) -> None:
        self._changed.set()
        if self.on_change is not None:
            try:
                self.on_change(leader)
            except Exception:
                log.exception("on_change callback failed")


# --- `chatbot jobs list` --------------------------------------------------------------------------
@dataclass(frozen=True)
class JobInfo:
    id: str
    func_ref: str | None
    trigger: str | None
    next_run_time: datetime | None  # aware UTC; None = paused or not stored yet
    configured: bool
    stored: bool
    coalesce: bool | None = None
    misfire_grace_seconds: int | None = None
    max_instances: int | None = None


def list_jobs(engine: Engine, specs: Sequence[JobSpec] = (), *, jobs_table: str = JOBS_TABLE) -> list[JobInfo]:
    """Configured and stored jobs with their next run time, read straight from the job store.

    Starts no scheduler and takes no lease, so it is safe next to a running bot. Job callables are
    not imported (the stored state keeps them as "module:function" strings).
    """
    stored: dict[str, dict[str, Any]] = {}
    if sa.inspect(engine).has_table(jobs_table):
        table = apscheduler_jobs_table(sa.MetaData(), jobs_table)
        with engine.connect() as conn:
            for row in conn.execute(sa.select(table.c.id, table.c.job_state)):
                try:
                    stored[row.id] = pickle.loads(row.job_state)
                except Exception:
                    stored[row.id] = {}
    configured = {s.id: s for s in specs}
    out: list[JobInfo] = []
    for job_id in [*configured, *(i for i in stored if i not in configured)]:
        state = stored.get(job_id)
        spec = configured.get(job_id)
        nrt = state.get("next_run_time") if state else None
        trigger = state.get("trigger") if state else None
        out.append(
            JobInfo(
                id=job_id,
                func_ref=(state or {}).get("func") or (spec.func_ref if spec else None),
                trigger=str(trigger) if trigger is not None else (str(spec.build_trigger()) if spec else None),
                next_run_time=nrt.astimezone(UTC) if isinstance(nrt, datetime) else None,
                configured=spec is not None,
                stored=state is not None,
                coalesce=(state or {}).get("coalesce"),
                misfire_grace_seconds=(state or {}).get("misfire_grace_time"),
                max_instances=(state or {}).get("max_instances"),
            )
        )
    out.sort(key=lambda j: (j.next_run_time is None, j.next_run_time or datetime.max.replace(tzinfo=UTC), j.id))
    return out
