"""Many members at once: our Telegram bot's throughput vs a bare PTB bot's under the same load, and our loop lag.

Why it exists: the round-trip benchmarks ask one question at a time; a desk of hundreds asks many
at once, and then what counts is how many answers a second the bot gets out and whether its
event loop stays responsive (the core's database calls are synchronous and run on the loop).

Each run starts benchmarks/load_users.py in a process of its own (the fake Bot API on 127.0.0.1 and
N simulated members, see there for the mix and what counts as an error) and a bot in this process:
  ours  what `chatbot run` serves: `run_telegram(core, Settings(), stop)` with TELEGRAM_SEND_LIMITER=off,
        on a DeskCore with N trader members (desk config, as the tests seed them) on PostgreSQL
        (a private schema on CHATBOT_TEST_POSTGRES_URL) or, when that is unset, a SQLite file;
        the per-member command rate limit raised out of the way, as in the other benchmarks, and
        the preview tolerance widened: a hundred members borrowing at once from one paper account
        (20,000 USDT, no debt) move its projected margin level far more than the default 1 %
        between a preview and its Confirm, and the desk rightly asks again instead of executing
  bare  a bare PTB bot doing the same Bot API calls: /status → one reply, /borrow → a reply with a
        Confirm button, the press → answerCallbackQuery + editMessageText "Done"; with
        `concurrent_updates(256)`, the same concurrency bound our update processor has (a default
        PTB bot handles one update at a time, which would flatter us)
The runs alternate bare, ours, bare, ours … (`--rounds` pairs); the figure is the median over the
pairs of ours/bare completed requests per second. A `LoopLagProbe` watches this process's loop
while the load runs (after the warm-up).

    .venv/bin/python -m benchmarks.load_bench [--members 500] [--requests 1000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from adapters.telegram import run_telegram
from benchmarks.common import LoopLagProbe, polling, postgres_schema, postgres_url
from benchmarks.load_users import user_ids
from benchmarks.scoreboard import Figure, Figures
from chatbot.config import MemberConfig, PolicyConfig, Settings
from tests.chat_desk import open_chat_core
from tests.core.desk import PAPER
from tests.fakes.telegram_wire import DEFAULT_TOKEN

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 256  # adapters/telegram/updates.py MAX_CONCURRENT_UPDATES
LINE_TIMEOUT = 600.0


@contextlib.contextmanager
def database() -> Iterator[tuple[str, str]]:
    """(URL, what it is) for our bot's desk: a private PostgreSQL schema when configured, else SQLite."""
    server = postgres_url()
    if server is not None:
        with postgres_schema(server) as url:
            yield url, "PostgreSQL"
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'load.db'}", "SQLite (CHATBOT_TEST_POSTGRES_URL unset)"


@asynccontextmanager
async def ours(base_url: str, members: int) -> AsyncIterator[None]:
    desk_members = [MemberConfig(name=f"m{uid}", role="trader", telegram_id=uid) for uid in user_ids(members)]
    with database() as (url, _):
        core = await open_chat_core(url, PAPER, desk_members, migrate_first=True,
                                    policy=PolicyConfig(rate_limit_per_minute=1_000_000,
                                                        preview_tolerance_pct=Decimal(1000)))
        env = {"TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN, "TELEGRAM_API_BASE_URL": base_url, "TELEGRAM_SEND_LIMITER": "off"}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            settings = Settings()
        finally:
            for k, v in saved.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        assert settings.telegram_send_limiter == "off"
        stop = asyncio.Event()
        task = asyncio.create_task(run_telegram(core, settings, stop))
        try:
            yield
        finally:
            stop.set()
            await task
            await core.stop()
            await core.exchange.close()
            core.engine.dispose()


@asynccontextmanager
async def bare(base_url: str, members: int) -> AsyncIterator[None]:
    async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("Status: ok")

    async def borrow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Confirm", callback_data="confirm")]])
        await update.message.reply_text("Borrow 10 USDT?", reply_markup=keyboard)

    async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text("Done")

    app = ApplicationBuilder().token(DEFAULT_TOKEN).base_url(base_url).concurrent_updates(CONCURRENCY).build()
    app.add_handler(CommandHandler("status", status))
    app.add_handler(CommandHandler("borrow", borrow))
    app.add_handler(CallbackQueryHandler(press))
    async with polling(app):
        yield


async def _line(stream: asyncio.StreamReader) -> dict[str, Any]:
    raw = await asyncio.wait_for(stream.readline(), LINE_TIMEOUT)
    if not raw:
        raise RuntimeError("the load process ended early (see its stderr above)")
    return dict(json.loads(raw))


async def one_run(kind: str, members: int, requests: int, seed: int) -> dict[str, Any]:
    """One run of `kind` ("ours" / "bare"): the user process's result plus this loop's lag during the load."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.load_users", "--members", str(members), "--requests", str(requests),
        "--seed", str(seed), cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        port = (await _line(proc.stdout))["port"]
        bot = ours if kind == "ours" else bare
        async with bot(f"http://127.0.0.1:{port}/bot", members):
            warm = await _line(proc.stdout)
            async with LoopLagProbe() as probe:
                result: dict[str, Any] = (await _line(proc.stdout))["result"]
        result["lag"] = probe.summary()
        result["warmup_errors"] = warm.get("warmup_errors", [])
        result["rps"] = result["completed"] / result["elapsed"]
        return result
    finally:
        proc.stdin.close()
        with contextlib.suppress(ProcessLookupError):
            await asyncio.wait_for(proc.wait(), 10)


def _line_for(kind: str, r: dict[str, Any]) -> str:
    lag = r["lag"]
    return (f"{kind:<5} {r['completed']:5d}/{r['requests']} done in {r['elapsed']:6.2f} s = {r['rps']:7.1f} req/s  "
            f"latency p50 {r['p50_ms']:7.1f} ms p99 {r['p99_ms']:7.1f} ms  errors {r['errors']}  "
            f"loop lag p50 {lag['p50']:.2f} p99 {lag['p99']:.2f} max {lag['max']:.1f} ms")


async def measure(members: int, requests: int, rounds: int) -> Figures:
    with database() as (_, where):
        pass
    print(f"{members} members, {requests} requests each run (20 % /borrow + Confirm, 80 % /status), "
          f"{members} concurrent users; our desk on {where}; send limiter off; runs alternate bare/ours", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "ours": []}
    for i in range(rounds):
        for kind in ("bare", "ours"):
            result = await one_run(kind, members, requests, seed=i + 1)
            runs[kind].append(result)
            print(_line_for(kind, result), flush=True)
            for sample in result["error_samples"] + result["warmup_errors"]:
                print(f"      e.g. {sample}")
    ratios = [o["rps"] / b["rps"] for b, o in zip(runs["bare"], runs["ours"], strict=True)]
    ratio = statistics.median(ratios)
    errors = sum(r["errors"] for r in runs["ours"])
    lag_p99 = max(r["lag"]["p99"] for r in runs["ours"])
    ours_rps = statistics.median(r["rps"] for r in runs["ours"])
    bare_rps = statistics.median(r["rps"] for r in runs["bare"])
    print(f"ours/bare throughput: {', '.join(f'{x:.2f}' for x in ratios)} (median {ratio:.2f}x)")
    where_note = "" if where == "PostgreSQL" else f"; on {where}"
    return {
        "load.ratio": Figure(ratio, f"ours {ours_rps:.0f} req/s vs bare {bare_rps:.0f} req/s (medians), "
                                    f"{members} members, {rounds}x{requests} requests each{where_note}"),
        "load.errors": Figure(errors, f"over {rounds * requests} requests; bare bot: "
                                      f"{sum(r['errors'] for r in runs['bare'])}"),
        "load.lag": Figure(lag_p99, "worst run's p99; max "
                                    f"{max(r['lag']['max'] for r in runs['ours']):.0f} ms; bare bot's p99 "
                                    f"{max(r['lag']['p99'] for r in runs['bare']):.2f} ms"),
    }


def scoreboard() -> Figures:
    return asyncio.run(measure(500, 1000, 2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--requests", type=int, default=1000, help="requests per run (a borrow+confirm is one)")
    parser.add_argument("--rounds", type=int, default=2, help="bare/ours pairs")
    args = parser.parse_args()
    asyncio.run(measure(args.members, args.requests, args.rounds))
