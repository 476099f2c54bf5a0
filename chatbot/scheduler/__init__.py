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

import logging
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    pass

from .job_context import NotLeaderError, clear_context, context, ensure_leader, is_leader, set_context
from .jobstore import JOBS_TABLE, apscheduler_jobs_table, build_scheduler, create_scheduler_tables, register_jobs
from .leader import LeaderScheduler, Listener
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
