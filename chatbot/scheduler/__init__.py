"""APScheduler wiring: persisted periodic jobs, run by exactly one process at a time.

Why this package exists: the margin monitor and the daily interest summary must fire on schedule
across restarts (so the job store is the project database, table `apscheduler_jobs`), and never
twice when two bot processes run at once (rolling deploy, double start). APScheduler 3 cannot share
a job store between schedulers, so a `LeaderLease` (`chatbot.store.lease`) elects one process; only
it starts an `AsyncIOScheduler`, and it stops that scheduler as soon as it stops holding the lease.

One module per concern; import everything from `chatbot.scheduler`:
- `specs`: `JobSpec` and the desk's jobs (`DESK_JOBS`: the name people type → stored id, callable).
- `job_context`: what a running job asks of its process (`context()`, `is_leader()`, `ensure_leader()`).
- `jobstore`: APScheduler on the project database (job table, store, executor, `register_jobs`).
- `leader`: `LeaderScheduler`, the lease-holding loop that starts and stops the scheduler.
- `listing`: `list_jobs()` for `chatbot jobs list`.

Rules this package enforces, each learnt the hard way (see the offline-testing notes, §4):

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

from .job_context import NotLeaderError, clear_context, context, ensure_leader, is_leader, set_context
from .jobstore import JOBS_TABLE, apscheduler_jobs_table, build_scheduler, create_scheduler_tables, register_jobs
from .leader import LeaderScheduler, Listener
from .listing import JobInfo, list_jobs
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
