"""A bot-like process for the two-process leader tests (spawned with `sys.executable`).

It competes for the scheduler lease with an interval job and appends JSON lines to `--out`:
`leader`/`follower` on every change, `submitted` with the scheduled run times APScheduler handed to
the executor, `fire` when the job body runs, `stopped` after a graceful SIGTERM shutdown. The job is
referenced as "leader_worker:record_fire": the script's own directory is sys.path[0], so the
stored reference resolves in every process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent  # noqa: E402

from chatbot.scheduler import JobSpec, LeaderScheduler, context, is_leader, set_context  # noqa: E402
from chatbot.store.db import make_engine  # noqa: E402


class EventLog:
    def __init__(self, path: str) -> None:
        self._f = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
        self._lock = threading.Lock()

    def write(self, ev: str, **data: Any) -> None:
        line = json.dumps({"ev": ev, "t": time.time(), "pid": os.getpid(), **data})
        with self._lock:
            self._f.write(line + "\n")
            self._f.flush()


async def record_fire() -> None:
    context().write("fire", leader=is_leader())


async def main(args: argparse.Namespace) -> None:
    log = EventLog(args.out)
    set_context(log)
    kwargs: dict[str, Any] = {}
    if args.schema:
        kwargs["connect_args"] = {"options": f"-csearch_path={args.schema}"}
    engine = make_engine(args.url, **kwargs)

    def submitted(event: JobSubmissionEvent) -> None:
        log.write("submitted", times=[t.timestamp() for t in event.scheduled_run_times])

    spec = JobSpec.interval("fire", "leader_worker:record_fire", seconds=args.interval, misfire_grace_seconds=60)
    leader = LeaderScheduler(
        engine,
        [spec],
        lease_name=args.lease,
        ttl=args.ttl,
        listeners=[(submitted, EVENT_JOB_SUBMITTED)],
        on_change=lambda leading: log.write("leader" if leading else "follower"),
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await leader.start()
    log.write("started")
    await stop.wait()
    await leader.stop()
    engine.dispose()
    log.write("stopped")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--schema")
    parser.add_argument("--lease", required=True)
    parser.add_argument("--ttl", type=float, default=2.0)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--out", required=True)
    asyncio.run(main(parser.parse_args()))
