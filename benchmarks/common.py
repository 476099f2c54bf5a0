"""What the benchmarks share: percentiles in milliseconds, many-symbol paper configs, chat round-trip parts.

Why it exists: every benchmark read its p50/p99 off the sorted samples the same way; the paper and
alerts benchmarks built the same many-symbol paper exchange; the Telegram and Discord benchmarks built
the same canned core, desk core, core-alone loop and command line; the load and chat benchmarks
watch the event loop with the same `LoopLagProbe`; the PostgreSQL rows open a private schema the same
way. `pct` is the one definition of a percentile here: the sample at index ⌊q·n⌋ of the sorted
samples (the largest for q near 1), in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from chatbot.commands.parser import Market
from chatbot.config import PaperConfig, PolicyConfig
from chatbot.core import DeskCore
from chatbot.notify import Notifier
from chatbot.replies import Actor, Reply, Request, Severity, Table
from chatbot.store.db import normalize_url
from tests.chat_desk import migrated_template, sqlite_copy

F = TypeVar("F")
R = TypeVar("R")


def pct(samples: list[float], q: float) -> float:
    """The q-quantile of `samples` (seconds), in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def median_p99_ms(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples) * 1000, pct(samples, 0.99)


# ---------------------------------------------------------------------------- paper exchanges of many symbols


def paper_symbols(n: int, prefix: str) -> dict[str, dict[str, str]]:
    """`n` made-up symbols quoted in USDT ({prefix}0000USDT …), with Binance-like filters."""
    return {f"{prefix}{i:04d}USDT": {"base": f"{prefix}{i:04d}", "quote": "USDT", "step_size": "0.001",
                                     "tick_size": "0.01", "min_qty": "0.001", "min_notional": "5"}
            for i in range(n)}


def paper_config(symbols: dict[str, dict[str, str]], **extra: Any) -> PaperConfig:
    """No fees, every symbol at 100, a daily rate of 0.0005 on every asset; `extra` adds balances."""
    values: dict[str, Any] = {
        "taker_fee": "0", "maker_fee": "0", "symbols": symbols,
        "prices": dict.fromkeys(symbols, "100"),
        "daily_interest_rates": {"USDT": "0.0005", **{s["base"]: "0.0005" for s in symbols.values()}},
    }
    values.update(extra)
    return PaperConfig.model_validate(values)


# ---------------------------------------------------------------------------- chat-adapter round trips

CANNED = Reply(title="Status — cross margin", severity=Severity.SUCCESS,
               fields=(("Margin level", "∞ (no debt) — EXCESSIVE"), ("Total assets", "20,000.00 USDT")),
               table=Table(("Asset", "Free", "Borrowed"), (("USDT", "20000", "0"),)))


class CannedCore:
    """Just what the chat adapters touch, answering every command with the same reply."""

    paper = False
    market = Market({})

    def __init__(self) -> None:
        self.members = _NoMembers()
        self.notifier = Notifier(None, None)  # type: ignore[arg-type]

    async def handle(self, request: Request) -> Reply:
        return CANNED

    async def press(self, token: str, actor: object, event_id: str | None = None) -> Reply:
        return CANNED


class _NoMembers:
    def all(self) -> list[Any]:
        return []

    def on_change(self, callback: Callable[[], object]) -> Callable[[], None]:
        return lambda: None  # nobody ever joins: nothing to unwatch


@asynccontextmanager
async def desk_core(open_core: Callable[..., Awaitable[DeskCore]]) -> AsyncIterator[DeskCore]:
    """A platform's desk core (tests/*/desk.py `open_core`) on a fresh SQLite copy, rate limits out of the way."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        core = await open_core(sqlite_copy(migrated_template(directory), directory),
                               policy=PolicyConfig(rate_limit_per_minute=1_000_000))
        try:
            yield core
        finally:
            await core.exchange.close()
            core.engine.dispose()


async def in_fresh_fakes(new_fake: Callable[[], AbstractAsyncContextManager[F]],
                         runs: list[tuple[str, Callable[[F], Awaitable[R]]]]) -> dict[str, R]:
    """Each named run against a fake server of its own (so no run inherits another's state)."""
    results: dict[str, R] = {}
    for name, run in runs:
        async with new_fake() as fake:
            results[name] = await run(fake)
    return results


async def core_alone(core: Any, actor: Actor, chat_id: str, runs: int, warmup: int) -> list[float]:
    """Seconds per `/status` handled by the core directly (no chat platform), per run after the warm-up."""
    out: list[float] = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        await core.handle(Request(actor, "/status", chat_id=chat_id, event_id=f"bench:{i}", sent_at=datetime.now(UTC)))
        if i >= warmup:
            out.append(time.perf_counter() - start)
    return out


def round_trip_args(doc: str | None) -> tuple[int, int]:
    """(--runs, --warmup) from the command line of a round-trip benchmark."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    return args.runs, args.warmup


# ---------------------------------------------------------------------------- event-loop lag


class LoopLagProbe:
    """A heartbeat task on the running loop: sleeps `interval` s again and again and records how late it woke.

    Lateness is what any other coroutine waiting on a timer or a socket would have suffered at that
    moment: the loop was busy running something else (a synchronous database call, JSON, rendering).
    `async with LoopLagProbe() as probe: ...` then `probe.summary()` (p50 / p99 / max in ms).
    """

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.lags: list[float] = []  # seconds late, one per wake-up
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.lags.append(max(0.0, loop.time() - due))

    async def __aenter__(self) -> LoopLagProbe:
        self._task = asyncio.create_task(self._beat(), name="loop-lag-probe")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def summary(self) -> dict[str, float]:
        if not self.lags:
            return {"p50": float("nan"), "p99": float("nan"), "max": float("nan"), "beats": 0}
        return {"p50": pct(self.lags, 0.5), "p99": pct(self.lags, 0.99), "max": max(self.lags) * 1000,
                "beats": len(self.lags)}

    def line(self) -> str:
        s = self.summary()
        return (f"loop lag (heartbeat every {self.interval * 1000:g} ms, {int(s['beats'])} beats): "
                f"p50 {s['p50']:.2f} ms  p99 {s['p99']:.2f} ms  max {s['max']:.2f} ms")


# ---------------------------------------------------------------------------- PostgreSQL


def postgres_url() -> str | None:
    """The local PostgreSQL server to bench on (`CHATBOT_TEST_POSTGRES_URL`, as the tests use), or None."""
    return os.environ.get("CHATBOT_TEST_POSTGRES_URL") or None


@contextlib.contextmanager
def postgres_schema(server_url: str) -> Iterator[str]:
    """A URL on `server_url` whose connections see only a fresh schema of their own, dropped afterwards.

    The tests' way (tests/conftest.py `postgres_url`): CREATE SCHEMA, then search_path in the URL.
    """
    url = normalize_url(server_url)
    schema = "bench_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@asynccontextmanager
async def polling(app: Any) -> AsyncIterator[None]:
    """A bare python-telegram-bot `Application` long-polling its (fake) Bot API until the block ends:
    the baseline the Telegram benchmarks compare our bot with."""
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        await app.start()
        try:
            yield
        finally:
            await app.updater.stop()
            await app.stop()
