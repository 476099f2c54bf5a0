"""Live adapter cost: `/status` latency versus one bare `get_margin_account()`, and REST calls + weight spent.

Against the fake Binance (tests/fakes/binance.py) running in its own thread and event loop, with an
optional simulated network round trip (`--latency-ms`, applied to every request). In the same run:

- bare: python-binance's `AsyncClient.get_margin_account()` alone, N times;
- `/status` through the core (`DeskCore.handle`) on `BinanceExchange`, SQLite, N times;
- the ratio of the medians (target ≤ 1.5×);
- REST calls and request weight (IP, UID) one warm `/status`, one cold `/status` (fresh adapter) and
  one margin-monitor cycle (`check_all`, cross + one isolated account) and one band poll spend.

Run by hand (not a timed test):

    .venv/bin/python -m benchmarks.binance_bench --runs 200 --latency-ms 0 --latency-ms 20
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from binance import AsyncClient

from benchmarks.common import pct
from chatbot.config import PolicyConfig
from tests.binance.live import LiveDesk, open_live_desk
from tests.fakes.binance import API_KEY, API_SECRET, FakeBinance, default_config
from tests.fakes.binance_routes import ROUTES


class FakeThread:
    """The fake Binance served from another thread, so its work does not run on the client's loop."""

    def __init__(self, latency: float) -> None:
        config = default_config(isolated={"BTCUSDT": {"USDT": "1000"}})
        self.fake = FakeBinance(config, latency=latency)
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._serve(),), daemon=True)

    async def _serve(self) -> None:
        self.stop = asyncio.Event()
        async with self.fake:
            self.ready.set()
            await self.stop.wait()

    def __enter__(self) -> FakeBinance:
        self.thread.start()
        self.ready.wait(10)
        return self.fake

    def __exit__(self, *exc: object) -> None:
        assert self.stop is not None
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


def cost(fake: FakeBinance, since: int) -> tuple[int, int, int, str]:
    """(REST calls, IP weight, UID weight, which) of the requests the fake saw after index `since`."""
    calls = [s for s in fake.seen[since:] if s.method != "WS"]
    ip = sum(ROUTES[(s.method, s.path)].weight for s in calls if (s.method, s.path) in ROUTES)
    uid = sum(ROUTES[(s.method, s.path)].uid_weight for s in calls if (s.method, s.path) in ROUTES)
    names = Counter(s.path.rsplit("/v1/", 1)[-1].rsplit("/v3/", 1)[-1] for s in calls)
    return len(calls), ip, uid, ", ".join(f"{k}×{v}" if v > 1 else k for k, v in sorted(names.items()))


async def timed(runs: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - t0)
    return samples


async def measure(fake: FakeBinance, runs: int, tmp: Path, n: int) -> None:
    bare = AsyncClient(API_KEY, API_SECRET)
    bare.API_URL, bare.MARGIN_API_URL = f"{fake.base_url}/api", f"{fake.base_url}/sapi"
    bare.timestamp_offset = (await bare.get_server_time())["serverTime"] - int(time.time() * 1000)
    url = f"sqlite:///{tmp / f'bench{n}.db'}"
    desk: LiveDesk = await open_live_desk(fake, url, policy=PolicyConfig(rate_limit_per_minute=10_000_000))
    try:
        await bare.get_margin_account()
        first = len(fake.seen)
        reply = await desk.say("dave", "/status")  # warm: reference data was cached at start-up
        assert reply.title == "Status — cross margin", reply.text()
        warm = cost(fake, first)
        ex = desk.exchange

        async def adapter_only() -> None:  # what /status asks of the port, without the core around it
            await ex.account(None)
            for asset in await ex.daily_interest_rates(None):
                await ex.max_borrowable(asset)
            await ex.now()

        bare_s, status_s, adapter_s = [], [], []
        for _ in range(max(1, runs // 20)):  # interleaved, so drift hits all three the same
            bare_s += await timed(20, bare.get_margin_account)
            status_s += await timed(20, lambda: desk.say("dave", "/status"))
            adapter_s += await timed(20, adapter_only)
        peak = desk.exchange.gate.pressure()
        fake.reset_weights()  # the timing loops above outrun Binance's per-minute budget; start afresh
        desk.exchange.gate.used.clear()
        await desk.core.monitor.check_all()  # first cycle also reads the isolated tier (cached for an hour)
        desk.exchange._isolated = None  # as after the 30 s list cache expires (the monitor runs every 30 s)
        mark = len(fake.seen)
        await desk.core.monitor.check_all()
        monitor = cost(fake, mark)
        mark = len(fake.seen)
        await desk.exchange.poller.poll_once(desk.exchange.t.now)
        poll = cost(fake, mark)
    finally:
        await desk.close()
        await bare.close_connection()
    cold_desk = await open_live_desk(fake, url, policy=PolicyConfig(rate_limit_per_minute=10_000_000))
    try:
        for cached in (cold_desk.exchange.ref.cross_rates, cold_desk.exchange.ref.cross_bars):
            cached.value, cached.at = None, -1e18  # expired, as `Cached` starts (it has no forget() any more)
        mark = len(fake.seen)
        await cold_desk.say("dave", "/status")
        cold = cost(fake, mark)
    finally:
        await cold_desk.close()
    ratio = pct(status_s, 0.5) / pct(bare_s, 0.5)
    print(f"  bare get_margin_account  p50={pct(bare_s, 0.5):7.2f} ms  p90={pct(bare_s, 0.9):7.2f} ms  "
          f"mean={statistics.mean(bare_s) * 1000:7.2f} ms")
    print(f"  /status (core + adapter) p50={pct(status_s, 0.5):7.2f} ms  p90={pct(status_s, 0.9):7.2f} ms  "
          f"mean={statistics.mean(status_s) * 1000:7.2f} ms")
    print(f"  /status port calls only  p50={pct(adapter_s, 0.5):7.2f} ms  p90={pct(adapter_s, 0.9):7.2f} ms  "
          f"mean={statistics.mean(adapter_s) * 1000:7.2f} ms")
    print(f"  ratio of medians: {ratio:.2f}x  (target <= 1.5x)  {'OK' if ratio <= 1.5 else 'OVER'}")
    print(f"  (the timing loops reached {peak:.0%} of a per-minute weight limit, as the gate saw it)")
    for name, (calls, ip, uid, which) in (("/status, warm", warm), ("/status, cold rates+bars", cold),
                                          ("monitor cycle (cross + 1 isolated)", monitor),
                                          ("band poll (stream down)", poll)):
        print(f"  {name:36} {calls:2d} REST calls, weight {ip:3d} IP + {uid} UID: {which}")


async def main(runs: int, latencies: list[float]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for n, latency in enumerate(latencies):
            print(f"-- simulated round trip {latency:g} ms per request, {runs} runs each")
            with FakeThread(latency / 1000) as fake:
                await measure(fake, runs, Path(tmp), n)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, action="append", dest="latencies")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.latencies or [0.0, 20.0]))
