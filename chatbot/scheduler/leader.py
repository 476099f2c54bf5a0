"""The leader loop: of all bot processes, exactly one runs the scheduler, and only while it holds the lease.

Why it exists: the margin monitor and the daily interest summary must never fire twice when two
bot processes run at once (rolling deploy, double start), and APScheduler 3 cannot share a job
store between schedulers. So a `LeaderLease` (`chatbot.store.lease`) elects one process; only it
starts an `AsyncIOScheduler` (built by `jobstore.py`), and it stops that scheduler as soon as it no
longer holds the lease, never waiting on the database past its own deadline. While it runs, it is
what `job_context.is_leader()` asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from apscheduler.events import JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING, STATE_STOPPED
from sqlalchemy.engine import Engine

from chatbot.store.lease import DEFAULT_LEASE_NAME, LeaderLease

from . import job_context
from .jobstore import JOBS_TABLE, DrainableAsyncIOExecutor, build_scheduler, missing_tables, register_jobs
from .specs import JobSpec

if TYPE_CHECKING:
    from chatbot.config import AlertsConfig

log = logging.getLogger(__package__)  # one logger for the package: "chatbot.scheduler"

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
