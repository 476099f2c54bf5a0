"""Core command handling, in process, on the paper exchange with SQLite (issue 4's figures).

p50 / p99 of `/status` and of a full `/borrow` → `/confirm` flow (with a `/repay` → `/confirm` to
keep the account level) over N runs. Run by hand:

    .venv/bin/python -m benchmarks.core_bench --runs 1000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import pct
from chatbot.config import PolicyConfig
from tests.core.desk import open_desk, short_id


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        desk = await open_desk(f"sqlite:///{Path(tmp) / 'bench.db'}",
                               policy=PolicyConfig(rate_limit_per_minute=10_000_000))
        status: list[float] = []
        flow: list[float] = []
        for _ in range(runs):
            t0 = time.perf_counter()
            await desk.say("carol", "/status")
            status.append(time.perf_counter() - t0)
        for _ in range(runs):
            t0 = time.perf_counter()
            prompt = await desk.say("carol", "/borrow USDT 10")
            done = await desk.say("carol", f"/confirm {short_id(prompt)}")
            flow.append(time.perf_counter() - t0)
            assert done.title.startswith("Done"), done.title
            repay = await desk.say("carol", "/repay USDT all")
            await desk.say("carol", f"/confirm {short_id(repay)}")
            desk.clock.advance(1)
        await desk.close()
    for name, samples, target in (("/status", status, 5), ("/borrow → /confirm", flow, 20)):
        print(f"{name:20} runs={len(samples)}  p50={pct(samples, 0.5):.2f} ms  p99={pct(samples, 0.99):.2f} ms  "
              f"mean={statistics.mean(samples) * 1000:.2f} ms  (target p99 < {target} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    asyncio.run(main(parser.parse_args().runs))
