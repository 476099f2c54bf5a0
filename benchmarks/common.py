"""What the benchmarks share: percentiles in milliseconds, many-symbol paper configs, chat round-trip parts.

Why it exists: every benchmark read its p50/p99 off the sorted samples the same way; the paper and
alerts benchmarks built the same many-symbol paper exchange; the Telegram and Discord benchmarks built
the same canned core, desk core, core-alone loop and command line. `pct` is the one definition of a
percentile here: the sample at index ⌊q·n⌋ of the sorted samples (the largest for q near 1), in ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from chatbot.commands.parser import Market
from chatbot.config import PaperConfig, PolicyConfig
from chatbot.core import DeskCore
from chatbot.notify import Notifier
from chatbot.replies import Actor, Reply, Request, Severity, Table
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
