"""How much the Telegram adapter (and the core behind it) adds to a `/status` round trip.

Everything runs against local fake Bot APIs (tests/fakes/telegram.py) in one event loop: a fake
pushes `/status` to its polling bot and the clock stops when the bot's sendMessage reaches the fake.
Three bots, each on a fake of its own, all running at once and asked in turn (bare, adapter, desk,
core, the order rotating every round) so that drift in the machine's speed hits them alike:
  bare     a bare PTB echo bot (CommandHandler → reply_text), no rate limiter: the floor
  adapter  our TelegramBot with a canned core (fixed /status reply): the adapter's own cost
  desk     our TelegramBot with the real DeskCore (SQLite, paper exchange): what a user sees
  core     DeskCore.handle("/status") called directly, no Telegram: the core's share of `desk`
Our bots run PTB's AIORateLimiter with throttling disabled (Telegram's 30 msg/s pacing would
dominate a tight loop); the limiter's code path and retries stay in. Afterwards a short pass per
bot with a `LoopLagProbe` reports the event loop's lag (the fake serves from the same loop, so
that figure includes its share).

    .venv/bin/python -m benchmarks.telegram_bench [--runs 200]
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.ext import AIORateLimiter, ApplicationBuilder, CommandHandler, ContextTypes

from adapters.telegram import TelegramBot
from benchmarks.common import CannedCore, LoopLagProbe, desk_core, median_p99_ms, polling, round_trip_args
from benchmarks.scoreboard import Figure, Figures
from chatbot.replies import Actor, Request
from tests.fakes.telegram import FakeTelegram
from tests.telegram.desk import CAROL, open_core

LAG_RUNS = 100


async def round_trip(fake: FakeTelegram) -> float:
    """Seconds from pushing /status to the bot's sendMessage arriving."""
    n = len(fake.calls_of("sendMessage"))
    start = time.perf_counter()
    fake.command(CAROL, "/status")
    await fake.wait_for("sendMessage", n + 1)
    return time.perf_counter() - start


@asynccontextmanager
async def bare_echo(fake: FakeTelegram) -> AsyncIterator[None]:
    async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("ok")

    app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("status", status))
    async with polling(app):
        yield


@asynccontextmanager
async def ours(fake: FakeTelegram, core: Any) -> AsyncIterator[None]:
    limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
    async with TelegramBot(core, fake.token, base_url=fake.base_url, rate_limiter=limiter):
        yield


def summary(name: str, samples: list[float], floor: float | None) -> str:
    median, p99 = median_p99_ms(samples)
    mean = statistics.fmean(samples) * 1000
    ratio = f"  {median / floor:4.2f}x bare" if floor else ""
    return f"{name:<8} median {median:6.2f} ms   p99 {p99:6.2f} ms   mean {mean:6.2f} ms{ratio}"


async def measure(runs: int, warmup: int) -> Figures:
    results: dict[str, list[float]] = {"bare": [], "adapter": [], "desk": [], "core": []}
    lags: dict[str, LoopLagProbe] = {}
    async with AsyncExitStack() as stack:
        core = await stack.enter_async_context(desk_core(open_core))
        fakes = {name: await stack.enter_async_context(FakeTelegram()) for name in ("bare", "adapter", "desk")}
        await stack.enter_async_context(bare_echo(fakes["bare"]))
        await stack.enter_async_context(ours(fakes["adapter"], CannedCore()))
        await stack.enter_async_context(ours(fakes["desk"], core))
        actor = Actor("telegram", str(CAROL))

        async def core_alone() -> float:
            start = time.perf_counter()
            await core.handle(Request(actor, "/status", chat_id=str(CAROL), event_id=f"bench:{time.monotonic_ns()}",
                                      sent_at=datetime.now(UTC)))
            return time.perf_counter() - start

        steps: dict[str, Callable[[], Awaitable[float]]] = {
            name: (lambda f=fake: round_trip(f)) for name, fake in fakes.items()}
        steps["core"] = core_alone
        names = list(steps)
        for i in range(warmup + runs):
            for name in names[i % len(names):] + names[:i % len(names)]:
                elapsed = await steps[name]()
                if i >= warmup:
                    results[name].append(elapsed)
        for name in ("bare", "desk"):
            async with LoopLagProbe() as probe:
                for _ in range(LAG_RUNS):
                    await steps[name]()
            lags[name] = probe
    floor = statistics.median(results["bare"]) * 1000
    print(f"/status round trip through the fake Bot API, {runs} runs after {warmup} warm-up, interleaved")
    for name, samples in results.items():
        print(summary(name, samples, None if name in ("bare", "core") else floor))
    for name, probe in lags.items():
        print(f"{name:<8} {probe.line()}  ({LAG_RUNS} round trips, fake in the same loop)")
    desk_median = statistics.median(results["desk"]) * 1000
    return {"telegram.ratio": Figure(desk_median / floor,
                                     f"desk {desk_median:.2f} ms vs bare {floor:.2f} ms (medians of {runs}); "
                                     f"loop lag p99 desk {lags['desk'].summary()['p99']:.2f} ms, "
                                     f"bare {lags['bare'].summary()['p99']:.2f} ms")}


def scoreboard() -> Figures:
    return asyncio.run(measure(200, 20))


if __name__ == "__main__":
    asyncio.run(measure(*round_trip_args(__doc__)))
