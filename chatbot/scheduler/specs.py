"""Job declarations: `JobSpec` (one persisted job, checked when declared) and the desk's own jobs.

Why it exists: jobs are declared in code and re-registered at every start, so the declaration is
the whole truth about a job (id, callable, trigger, misfire and overlap settings) and is validated
as early as possible (bad trigger fields, non-picklable kwargs, an import that fails). The desk's two
jobs are listed once here, in `DESK_JOBS`: the name people type (`chatbot jobs run margin-monitor`),
the id the job is stored under, and the async function that runs it; `desk_job_specs` turns them into
specs from the `[alerts]` policy. This module knows nothing of leases or the job store.
"""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any, Literal, cast

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import ref_to_obj

if TYPE_CHECKING:
    from chatbot.config import AlertsConfig

_CRON_FIELDS = frozenset({"year", "month", "day", "week", "day_of_week", "hour", "minute", "second"})

TriggerKind = Literal["interval", "cron"]


@dataclass(frozen=True)
class JobSpec:
    """A persisted job, declared in code and re-registered at every start.

    `trigger` is `("interval", {"seconds": N})` or `("cron", {"hour": H, "minute": M, ...})`; cron
    triggers are always UTC. Prefer the `JobSpec.interval(...)` / `JobSpec.cron(...)` constructors.
    """

    id: str
    func_ref: str
    trigger: tuple[TriggerKind, Mapping[str, Any]]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    misfire_grace_seconds: int = 300
    coalesce: bool = True
    max_instances: int = 1

    def __post_init__(self) -> None:
        module, sep, name = self.func_ref.partition(":")
        if not self.id:
            raise ValueError("job id must not be empty")
        if not (module and sep and name):
            raise ValueError(f"job {self.id}: func_ref must be 'module:function', got {self.func_ref!r}")
        kind, args = self.trigger
        if kind == "interval":
            if set(args) != {"seconds"} or not float(args["seconds"]) > 0:
                raise ValueError(f"job {self.id}: interval trigger takes seconds > 0 only, got {dict(args)}")
        elif kind == "cron":
            unknown = set(args) - _CRON_FIELDS
            if unknown or not args:
                raise ValueError(f"job {self.id}: bad cron fields {sorted(unknown) or '(none)'}")
        else:
            raise ValueError(f"job {self.id}: trigger must be 'interval' or 'cron', got {kind!r}")
        if self.misfire_grace_seconds <= 0 or self.max_instances < 1:
            raise ValueError(f"job {self.id}: misfire_grace_seconds > 0 and max_instances >= 1 required")
        try:
            pickle.dumps(dict(self.kwargs))
        except Exception as exc:
            raise ValueError(f"job {self.id}: kwargs must be picklable ({exc})") from exc

    @classmethod
    def interval(
        cls, id: str, func_ref: str, *, seconds: float, kwargs: Mapping[str, Any] | None = None, **opts: Any
    ) -> JobSpec:
        return cls(id, func_ref, ("interval", {"seconds": seconds}), dict(kwargs or {}), **opts)

    @classmethod
    def cron(
        cls,
        id: str,
        func_ref: str,
        *,
        hour: int | str,
        minute: int | str = 0,
        second: int | str = 0,
        kwargs: Mapping[str, Any] | None = None,
        **opts: Any,
    ) -> JobSpec:
        fields = {"hour": hour, "minute": minute, "second": second}
        return cls(id, func_ref, ("cron", fields), dict(kwargs or {}), **opts)

    def build_trigger(self) -> BaseTrigger:
        kind, args = self.trigger
        if kind == "interval":
            return IntervalTrigger(seconds=float(args["seconds"]), timezone=UTC)
        return CronTrigger(timezone=UTC, **dict(args))

    def resolve(self) -> Callable[..., Any]:
        """Import the callable and check it is an async function (raises otherwise)."""
        try:
            func = ref_to_obj(self.func_ref)
        except (LookupError, ValueError, ImportError) as exc:
            raise ValueError(f"job {self.id}: cannot import {self.func_ref!r}: {exc}") from exc
        if not inspect.iscoroutinefunction(func):
            raise TypeError(f"job {self.id}: {self.func_ref} must be an async function")
        return cast(Callable[..., Any], func)


# --- the desk's own jobs --------------------------------------------------------------------------
@dataclass(frozen=True)
class DeskJob:
    """One of the desk's jobs, named once: `name` is what people type (`chatbot jobs run <name>`),
    `id` the key it is stored under in the job table (existing databases hold these ids, and
    `register_jobs` prunes stored ids no spec declares, so an id is not renamed lightly), and
    `func_ref` the importable async function the scheduler runs."""

    name: str
    id: str
    func_ref: str


# The contract with chatbot.alerts: these async functions run the two desk jobs.
MARGIN_MONITOR = DeskJob("margin-monitor", "margin_monitor", "chatbot.alerts.jobs:margin_monitor")
INTEREST_SUMMARY = DeskJob("interest-summary", "interest_summary", "chatbot.alerts.jobs:interest_summary")
DESK_JOBS: Mapping[str, DeskJob] = {job.name: job for job in (MARGIN_MONITOR, INTEREST_SUMMARY)}

MARGIN_MONITOR_JOB = MARGIN_MONITOR.id
INTEREST_SUMMARY_JOB = INTEREST_SUMMARY.id
MARGIN_MONITOR_REF = MARGIN_MONITOR.func_ref
INTEREST_SUMMARY_REF = INTEREST_SUMMARY.func_ref


def desk_job_specs(
    alerts: AlertsConfig,
    *,
    monitor_ref: str = MARGIN_MONITOR_REF,
    summary_ref: str = INTEREST_SUMMARY_REF,
) -> list[JobSpec]:
    """The two desk jobs, from the `[alerts]` policy."""
    grace = alerts.misfire_grace_seconds
    at = alerts.interest_summary_time
    return [
        JobSpec.interval(
            MARGIN_MONITOR_JOB, monitor_ref, seconds=alerts.monitor_interval_seconds, misfire_grace_seconds=grace
        ),
        JobSpec.cron(
            INTEREST_SUMMARY_JOB,
            summary_ref,
            hour=at.hour,
            minute=at.minute,
            second=at.second,
            misfire_grace_seconds=grace,
        ),
    ]
