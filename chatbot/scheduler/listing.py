"""`chatbot jobs list`: the configured and stored jobs with their next run time, read without a scheduler.

Why it exists: operators need to see what is scheduled while the bot runs, from another process,
without electing anyone or importing job callables. So this reads the job table directly (the
stored state keeps callables as "module:function" strings) and merges it with the specs in code:
a job can be configured but not stored yet, or stored but no longer declared.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .jobstore import JOBS_TABLE, apscheduler_jobs_table
from .specs import JobSpec


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
