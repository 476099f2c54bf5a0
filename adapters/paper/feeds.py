"""Where paper prices and paper time come from: static, seeded random walk, CSV replay; manual or realtime.

The engine never reads the wall clock. This module holds the only code that does (`SystemClock`),
behind a small `WallClock` protocol so tests can drive the realtime clock and the random walk with
a fake. The random walk is a pure function of (seed, step number, symbol), so it is deterministic
and continues identically after a restart (the step counter is persisted). Replay rows are applied
by the book as the paper clock passes their timestamps.
"""

from __future__ import annotations

import asyncio
import csv
import random
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

from chatbot.exchange import SymbolInfo

from .model import dt_to_ms
from .rules import to_tick

MIN_FACTOR = Decimal("0.5")
MAX_FACTOR = Decimal("1.5")


class WallClock(Protocol):
    """Wall time for the realtime clock and the random-walk cadence (injectable for tests)."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real wall clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class RandomWalk:
    """Multiplicative Gaussian steps: p' = p · (1 + σ·z), z ~ N(0, 1) from Random(f"{seed}:{step}:{symbol}")."""

    def __init__(self, seed: int, volatility: Decimal) -> None:
        self.seed = seed
        self.volatility = volatility

    def step(self, prices: Mapping[str, Decimal], symbols: Mapping[str, SymbolInfo], step: int) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for sym in sorted(prices):
            z = random.Random(f"{self.seed}:{step}:{sym}").gauss(0.0, 1.0)
            factor = Decimal(1) + self.volatility * Decimal(repr(round(z, 12)))
            factor = min(MAX_FACTOR, max(MIN_FACTOR, factor))
            out[sym] = to_tick(prices[sym] * factor, symbols[sym].tick_size)
        return out


class ReplayError(ValueError):
    """A replay file that cannot be read: names the line and the problem."""


def _parse_time(text: str) -> int:
    text = text.strip()
    if text.isdigit():
        return int(text)  # epoch milliseconds
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ReplayError(f"bad timestamp {text!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return dt_to_ms(value)


def load_replay(path: Path, symbols: Mapping[str, SymbolInfo]) -> list[tuple[int, str, Decimal]]:
    """Read `timestamp,symbol,price` rows (epoch ms or ISO-8601; a header line is optional), sorted by time."""
    rows: list[tuple[int, str, Decimal]] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for lineno, record in enumerate(csv.reader(fh), start=1):
            if not record or not "".join(record).strip() or record[0].lstrip().startswith("#"):
                continue
            if lineno == 1 and record[0].strip().lower() == "timestamp":
                continue
            if len(record) != 3:
                raise ReplayError(f"{path}:{lineno}: expected timestamp,symbol,price")
            stamp, sym, price_text = (x.strip() for x in record)
            sym = sym.upper()
            if sym not in symbols:
                raise ReplayError(f"{path}:{lineno}: unknown symbol {sym}")
            try:
                price = Decimal(price_text)
            except InvalidOperation as exc:
                raise ReplayError(f"{path}:{lineno}: bad price {price_text!r}") from exc
            if not price.is_finite() or price <= 0:
                raise ReplayError(f"{path}:{lineno}: price must be positive")
            try:
                ms = _parse_time(stamp)
            except ReplayError as exc:
                raise ReplayError(f"{path}:{lineno}: {exc}") from None
            rows.append((ms, sym, price))
    rows.sort(key=lambda r: r[0])  # stable: rows at the same time keep file order
    return rows
