"""Core command handling, in process, on the paper exchange with SQLite and PostgreSQL (issue 4's figures).

p50 / p99 of `/status` and of a full `/borrow` → `/confirm` flow (with a `/repay` → `/confirm` to
keep the account level, not timed) over N runs, on a fresh SQLite file and, when
`CHATBOT_TEST_POSTGRES_URL` names a local server, on a private schema there (dropped afterwards).
A flow whose prompt comes back without a confirmation id is counted as failed, not timed, and the
first failure's reply is printed. Run by hand:

    .venv/bin/python -m benchmarks.core_bench --runs 1000 [--pg-runs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import pct, postgres_schema, postgres_url
from benchmarks.scoreboard import Figure, Figures
from chatbot.config import PolicyConfig
from chatbot.replies import Reply
from tests.core.desk import ID_RE, DeskUnderTest, open_desk

TARGETS_MS = {"/status": 5.0, "/borrow → /confirm": 20.0}  # this module's own, older bars (the scoreboard's differ)


@dataclass
class Samples:
    status: list[float] = field(default_factory=list)
    flow: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # the replies of flows that did not complete


def _id(reply: Reply) -> str | None:
    match = ID_RE.search(reply.title)
    return match.group(1) if match else None


async def _confirmed(desk: DeskUnderTest, command: str) -> Reply | str:
    """`command` then `/confirm <its id>`: the final reply, or the reply that had no id to confirm."""
    prompt = await desk.say("carol", command)
    short = _id(prompt)
    if short is None:
        return f"{command}: {prompt.title}"
    return await desk.say("carol", f"/confirm {short}")


async def run(url: str, runs: int) -> Samples:
    out = Samples()
    desk = await open_desk(url, policy=PolicyConfig(rate_limit_per_minute=10_000_000))
    try:
        for _ in range(runs):
            t0 = time.perf_counter()
            await desk.say("carol", "/status")
            out.status.append(time.perf_counter() - t0)
        for _ in range(runs):
            t0 = time.perf_counter()
            done = await _confirmed(desk, "/borrow USDT 10")
            elapsed = time.perf_counter() - t0
            if isinstance(done, str) or not done.title.startswith("Done"):
                out.failures.append(done if isinstance(done, str) else f"/confirm: {done.title}")
            else:
                out.flow.append(elapsed)
            await _confirmed(desk, "/repay USDT all")  # untimed; a failure here shows in the next borrow
            desk.clock.advance(1)
    finally:
        await desk.close()
    return out


async def on_sqlite(runs: int) -> Samples:
    with tempfile.TemporaryDirectory() as tmp:
        return await run(f"sqlite:///{Path(tmp) / 'bench.db'}", runs)


async def on_postgres(server: str, runs: int) -> Samples:
    with postgres_schema(server) as url:
        return await run(url, runs)


def report(backend: str, s: Samples) -> None:
    print(f"-- {backend}")
    for name, samples in (("/status", s.status), ("/borrow → /confirm", s.flow)):
        if samples:
            print(f"{name:20} runs={len(samples)}  p50={pct(samples, 0.5):.2f} ms  p99={pct(samples, 0.99):.2f} ms  "
                  f"mean={statistics.mean(samples) * 1000:.2f} ms  (target p99 < {TARGETS_MS[name]:g} ms)")
    if s.failures:
        print(f"  {len(s.failures)} flow(s) failed, e.g. {s.failures[0]}")


def _figure(s: Samples) -> Figure:
    failed = f", {len(s.failures)} failed flow(s): {s.failures[0]}" if s.failures else ""
    return Figure(pct(s.flow, 0.99), f"p50 {pct(s.flow, 0.5):.2f} ms over {len(s.flow)} flows{failed}")


async def measure(runs: int, pg_runs: int) -> Figures:
    figures: Figures = {}
    sqlite = await on_sqlite(runs)
    report("SQLite (file, WAL)", sqlite)
    figures["core.sqlite"] = _figure(sqlite)
    server = postgres_url()
    if server is None:
        print("-- PostgreSQL: skipped (set CHATBOT_TEST_POSTGRES_URL)")
        figures["core.postgres"] = Figure(None, skipped="skipped (set CHATBOT_TEST_POSTGRES_URL)")
    else:
        pg = await on_postgres(server, pg_runs)
        report("PostgreSQL (local server)", pg)
        figures["core.postgres"] = _figure(pg)
    return figures


def scoreboard() -> Figures:
    return asyncio.run(measure(1000, 200))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--pg-runs", type=int, default=200, help="runs on PostgreSQL (when configured)")
    args = parser.parse_args()
    asyncio.run(measure(args.runs, args.pg_runs))
