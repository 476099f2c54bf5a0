"""How much the Telegram adapter (and the core behind it) adds to a `/status` round trip.

Everything runs against the local fake Bot API (tests/fakes/telegram.py) in one event loop: the fake
pushes `/status` to the polling bot and the clock stops when the bot's sendMessage reaches the fake.
Three bots, same run, same fake:
  bare     a bare PTB echo bot (CommandHandler → reply_text), no rate limiter: the floor
  adapter  our TelegramBot with a canned core (fixed /status reply): the adapter's own cost
  desk     our TelegramBot with the real DeskCore (SQLite, paper exchange): what a user sees
  core     DeskCore.handle("/status") called directly, no Telegram: the core's share of `desk`
Our bots run PTB's AIORateLimiter with throttling disabled (Telegram's 30 msg/s pacing would
dominate a tight loop); the limiter's code path and retries stay in.

    .venv/bin/python -m benchmarks.telegram_bench [--runs 200]
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from telegram import Update
from telegram.ext import AIORateLimiter, ApplicationBuilder, CommandHandler, ContextTypes

from adapters.telegram import TelegramBot
from benchmarks.common import CannedCore, core_alone, desk_core, in_fresh_fakes, median_p99_ms, round_trip_args
from chatbot.replies import Actor
from tests.fakes.telegram import FakeTelegram
from tests.telegram.desk import CAROL, open_core


async def round_trips(fake: FakeTelegram, runs: int, warmup: int) -> list[float]:
    """Seconds from pushing /status to the bot's sendMessage arriving, per run."""
    out: list[float] = []
    for i in range(warmup + runs):
        n = len(fake.calls_of("sendMessage"))
        start = time.perf_counter()
        fake.command(CAROL, "/status")
        await fake.wait_for("sendMessage", n + 1)
        if i >= warmup:
            out.append(time.perf_counter() - start)
    return out


async def bare_echo(fake: FakeTelegram, runs: int, warmup: int) -> list[float]:
    async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("ok")

    app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("status", status))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        await app.start()
        try:
            return await round_trips(fake, runs, warmup)
        finally:
            await app.updater.stop()
            await app.stop()


async def ours(fake: FakeTelegram, core: Any, runs: int, warmup: int) -> list[float]:
    limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
    async with TelegramBot(core, fake.token, base_url=fake.base_url, rate_limiter=limiter):
        return await round_trips(fake, runs, warmup)


def summary(name: str, samples: list[float], floor: float | None) -> str:
    median, p99 = median_p99_ms(samples)
    mean = statistics.fmean(samples) * 1000
    ratio = f"  {median / floor:4.2f}x bare" if floor else ""
    return f"{name:<8} median {median:6.2f} ms   p99 {p99:6.2f} ms   mean {mean:6.2f} ms{ratio}"


async def main(runs: int, warmup: int) -> None:
    async with desk_core(open_core) as core:
        results = await in_fresh_fakes(FakeTelegram, [
            ("bare", lambda f: bare_echo(f, runs, warmup)),
            ("adapter", lambda f: ours(f, CannedCore(), runs, warmup)),
            ("desk", lambda f: ours(f, core, runs, warmup)),
        ])
        results["core"] = await core_alone(core, Actor("telegram", str(CAROL)), str(CAROL), runs, warmup)
    floor = statistics.median(results["bare"]) * 1000
    print(f"/status round trip through the fake Bot API, {runs} runs after {warmup} warm-up")
    for name, samples in results.items():
        print(summary(name, samples, None if name in ("bare", "core") else floor))


if __name__ == "__main__":
    asyncio.run(main(*round_trip_args(__doc__)))
