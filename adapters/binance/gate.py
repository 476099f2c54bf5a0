"""The process-wide rate-limit gate: nothing goes to Binance inside a 429/418 window, and a ban outlives restarts.

Why it exists: Binance counts request weight per IP (and per account for some SAPI calls); a 429
says "stop for Retry-After seconds" and keeps answering 429 to everything inside that window,
and repeated violations escalate to an HTTP 418 IP ban of minutes to days. Commands, the margin
monitor and summaries share one `BinanceExchange`, hence this one gate: every request asks it
first; every response (including python-binance's own, through an aiohttp trace hook) reports its
status and the used-weight headers back. The end of a 418 ban is stored in `desk_state` under
`binance_ban`, so a restarted process honours it without sending anything.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from chatbot.exchange import RateLimited
from chatbot.store.db import session_scope
from chatbot.store.tables import DeskState

log = logging.getLogger(__name__)

BAN_KEY = "binance_ban"
# Binance's per-minute limits for the weight headers (REQUEST_WEIGHT from exchangeInfo; SAPI IP and UID).
LIMITS = {"x-mbx-used-weight-1m": 6000, "x-sapi-used-ip-weight-1m": 12000, "x-sapi-used-uid-weight-1m": 180000}
BACKGROUND_STOP = 0.8  # above this share of a limit, background polling waits for the next minute
SLOW_FROM = 0.5  # above this share, background polling slows down


@dataclass(frozen=True)
class Ban:
    until: float  # epoch seconds
    status: int  # 418 (ban) or 429 (rate limit)


class BanStore:
    """The persisted end of an IP ban (`desk_state['binance_ban']`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self) -> Ban | None:
        try:
            with session_scope(self.engine) as s:
                row = s.get(DeskState, BAN_KEY)
                if row is None:
                    return None
                data = json.loads(row.value_json)
        except (OperationalError, ProgrammingError):  # a database not migrated yet holds no ban
            return None
        return Ban(float(data["until"]), int(data.get("status", 418)))

    def save(self, ban: Ban) -> None:
        value = json.dumps({"until": ban.until, "status": ban.status,
                            "until_utc": datetime.fromtimestamp(ban.until, UTC).isoformat()})
        for _ in range(2):  # two requests banned at once both save it: the second updates the first's row
            try:
                with session_scope(self.engine) as s:
                    row = s.get(DeskState, BAN_KEY) or DeskState(key=BAN_KEY, value_json=value)
                    row.value_json, row.updated_at = value, datetime.now(UTC)
                    s.add(row)
                return
            except IntegrityError:
                continue


class RateGate:
    def __init__(self, store: BanStore | None = None, *, clock: Callable[[], float] = time.time,
                 max_wait: float = 2.0) -> None:
        self.store = store
        self.clock = clock
        self.max_wait = max_wait
        self.blocked_until = 0.0
        self.blocked_status = 0
        self.used: dict[str, tuple[int, int]] = {}  # header -> (minute, used weight)
        self.sent = 0  # requests that left (for benchmarks and tests)
        self.on_ban: Callable[[float], Awaitable[None]] | None = None  # told once per new 418 ban

    # ------------------------------------------------------------------ before a request

    def remaining(self) -> float:
        return max(0.0, self.blocked_until - self.clock())

    def refusal(self, remaining: float) -> RateLimited:
        if self.blocked_status == 418:
            until = datetime.fromtimestamp(self.blocked_until, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            return RateLimited(-1003, f"Binance has banned this IP until {until}; nothing was sent.", remaining, 418)
        return RateLimited(-1003, f"Binance rate limit: nothing is sent for {remaining:.0f} s more.", remaining, 429)

    async def admit(self, *, background: bool = False) -> None:
        """Wait out a short window, refuse inside a long one; background work also yields to high usage."""
        remaining = self.remaining()
        if remaining > 0:
            if background or remaining > self.max_wait:
                raise self.refusal(remaining)
            await asyncio.sleep(remaining)
        if background and self.pressure() >= BACKGROUND_STOP:
            wait = 60 - self.clock() % 60
            raise RateLimited(-1003, f"request weight at {self.pressure():.0%} of the limit; background polling "
                                     "waits for the next minute", wait, 429)
        self.sent += 1

    # ------------------------------------------------------------------ after a response

    async def observe(self, status: int, headers: Mapping[str, str]) -> None:
        minute = int(self.clock() // 60)
        for name, value in headers.items():
            key = name.lower()
            if key in LIMITS and value.isdigit():
                self.used[key] = (minute, int(value))
        if status in (418, 429):
            retry = headers.get("Retry-After", "")
            seconds = float(retry) if retry.replace(".", "", 1).isdigit() else (120.0 if status == 418 else 60.0)
            await self.block(seconds, status)

    async def block(self, seconds: float, status: int) -> None:
        now = self.clock()
        until = now + seconds
        if until <= self.blocked_until:
            return
        already_banned = self.blocked_status == 418 and self.blocked_until > now
        self.blocked_until, self.blocked_status = until, 418 if already_banned else status
        if already_banned:  # requests already in flight when the ban began: extend it, quietly
            if self.store is not None:
                await asyncio.to_thread(self.store.save, Ban(until, 418))
            return
        log.warning("binance: HTTP %s, no requests for %.0f s", status, seconds)
        if status == 418:
            if self.store is not None:
                await asyncio.to_thread(self.store.save, Ban(until, status))
            if self.on_ban is not None:
                await self.on_ban(until)

    def restore(self) -> Ban | None:
        """At start: adopt a persisted ban that has not ended yet."""
        if self.store is None:
            return None
        ban = self.store.load()
        if ban is None or ban.until <= self.clock():
            return None
        self.blocked_until, self.blocked_status = ban.until, ban.status
        return ban

    # ------------------------------------------------------------------ weight budget

    def pressure(self) -> float:
        """The highest share of a per-minute weight limit used in the current minute (0..1+)."""
        minute = int(self.clock() // 60)
        shares = [used / LIMITS[key] for key, (at, used) in self.used.items() if at == minute]
        return max(shares, default=0.0)

    def slowdown(self) -> float:
        """Multiplier for background polling periods: 1 normally, up to 4 as usage nears the limit."""
        p = self.pressure()
        if p < SLOW_FROM:
            return 1.0
        return 1.0 + 3.0 * min(1.0, (p - SLOW_FROM) / (BACKGROUND_STOP - SLOW_FROM))
