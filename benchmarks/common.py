"""What the benchmarks share: percentiles in milliseconds, and the pieces of the chat-adapter round trips.

Why it exists: every benchmark read its p50/p99 off the sorted samples the same way, and the Telegram
and Discord benchmarks built the same canned core, the same core-alone loop and the same command
line. `pct` is the one definition of a percentile here: the sample at index ⌊q·n⌋ of the
sorted samples (the largest for q near 1), in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chatbot.commands.parser import Market
from chatbot.notify import Notifier
from chatbot.replies import Actor, Reply, Request, Severity, Table


def pct(samples: list[float], q: float) -> float:
    """The q-quantile of `samples` (seconds), in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def median_p99_ms(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples) * 1000, pct(samples, 0.99)


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
