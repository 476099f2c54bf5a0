"""Two real bot processes on one database: the scheduled job fires once per period across both,
and a SIGKILLed leader is replaced within one lease period (PostgreSQL; SQLite as a bonus).

Without the lease the same setup double-fires nearly every period (proved in the offline-testing
notes), which a single-process test cannot show."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from .support import REPO_ROOT, Db, unique_name, wait_until

WORKER = Path(__file__).with_name("leader_worker.py")
TTL = 2.0
INTERVAL = 0.5


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # a line still being written
            out.append(json.loads(line))
    return out


def submitted_times(events: list[dict[str, Any]]) -> list[float]:
    return [t for e in events if e["ev"] == "submitted" for t in e["times"]]


def first(events: list[dict[str, Any]], ev: str) -> float | None:
    return next((e["t"] for e in events if e["ev"] == ev), None)


def run_kill_handover(db: Db, tmp_path: Path) -> None:
    lease = unique_name("two-proc")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    for i in range(2):
        out = tmp_path / f"worker{i}.jsonl"
        cmd = [sys.executable, str(WORKER), "--url", db.url, "--lease", lease, "--out", str(out)]
        cmd += ["--ttl", str(TTL), "--interval", str(INTERVAL)]
        if db.schema:
            cmd += ["--schema", db.schema]
        with open(tmp_path / f"worker{i}.log", "wb") as log:
            procs.append((subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), out))
    try:

        def leader_index() -> int | None:
            for i, (_, out) in enumerate(procs):
                if first(read_events(out), "leader") is not None:
                    return i + 1  # truthy
            return None

        li = wait_until(leader_index, timeout=10) - 1
        (leader, leader_out), (standby, standby_out) = procs[li], procs[1 - li]
        wait_until(lambda: len(submitted_times(read_events(leader_out))) >= 4, timeout=5)
        assert first(read_events(standby_out), "started") is not None, "both processes competed"
        t_kill = time.time()
        leader.send_signal(signal.SIGKILL)
        leader.wait(5)
        wait_until(lambda: first(read_events(standby_out), "leader"), timeout=TTL + 2)
        wait_until(lambda: len(submitted_times(read_events(standby_out))) >= 4, timeout=5)
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(5) == 0
    finally:
        for p, _ in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)

    a, b = read_events(leader_out), read_events(standby_out)
    sub_a, sub_b = submitted_times(a), submitted_times(b)
    t_lead_b = first(b, "leader")
    assert t_lead_b is not None and first(b, "stopped") is not None

    # Every scheduled run time was handed to an executor exactly once, across both processes.
    everything = sorted(sub_a + sub_b)
    assert len({round(t, 3) for t in everything}) == len(everything), "a period fired twice"
    assert max(sub_a) < min(sub_b) and max(sub_a) <= t_kill
    assert all(e["t"] >= t_lead_b for e in b if e["ev"] in ("submitted", "fire")), "standby fired early"
    fires_a = [e["t"] for e in a if e["ev"] == "fire"]
    fires_b = [e["t"] for e in b if e["ev"] == "fire"]
    assert max(fires_a) < min(fires_b) and len(fires_b) == len(sub_b)
    assert all(e["leader"] for e in a + b if e["ev"] == "fire"), "jobs only ran while the lease was held"

    # The schedule is continuous: one period after another, with one gap at the handover, where
    # the coalesced catch-up ran the latest missed period once.
    steps = [round((y - x) / INTERVAL, 2) for x, y in pairwise(everything)]
    assert all(s == int(s) >= 1 for s in steps), steps
    assert sum(s > 1 for s in steps) <= 1, steps
    assert (min(sub_b) - max(sub_a)) <= TTL + INTERVAL + 0.1
    assert min(sub_b) <= t_lead_b, "first run after takeover is the caught-up missed period"

    takeover = t_lead_b - t_kill
    print(
        f"\n[{db.kind}] takeover {takeover:.2f}s after SIGKILL (ttl {TTL}s); "
        f"periods: {len(sub_a)} by leader, {len(sub_b)} by successor, 0 duplicates"
    )
    assert takeover <= TTL + 0.3, f"takeover took {takeover:.2f}s"


@pytest.mark.postgres
def test_two_processes_postgres(pg_db: Db, tmp_path: Path) -> None:
    run_kill_handover(pg_db, tmp_path)


def test_two_processes_sqlite(sqlite_db: Db, tmp_path: Path) -> None:
    run_kill_handover(sqlite_db, tmp_path)
