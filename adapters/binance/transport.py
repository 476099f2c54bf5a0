"""Every REST call to Binance goes through here: the gate first, the server clock, retries for reads only.

Why it exists: python-binance's `AsyncClient` sends, signs and raises; it does not decide what
may be retried. This module does: reads are retried (after -1021 with a fresh time offset, after
5xx/timeouts a couple of times); writes (orders, loans, transfers) are sent exactly once and an
unclear answer becomes `ExchangeUnavailable` for the core to reconcile by querying. The client is
pointed at `BINANCE_API_BASE_URL` on the instance (`API_URL`, `MARGIN_API_URL`), with explicit
connect/read timeouts and an aiohttp trace hook that feeds every response's status and weight
headers to the gate.
"""

from __future__ import annotations

import asyncio
import logging
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import aiohttp
from binance import AsyncClient

from chatbot.exchange import ExchangeError

from . import wire
from .errors import TRANSPORT_ERRORS, Kind, kind_of, to_port_error
from .gate import RateGate

log = logging.getLogger(__name__)
RECV_WINDOW_MS = 5000  # Binance's default; python-binance would send 10000


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 10.0
    read_retries: int = 2
    retry_delay: float = 0.25  # first back-off of a read retry; doubled each time, with jitter, capped
    retry_cap: float = 4.0

    def backoff(self, attempt: int) -> float:
        return float(min(self.retry_cap, self.retry_delay * 2 ** (attempt - 1)) * (0.5 + random.random() / 2))


def make_client(key: str, secret: str, base_url: str, gate: RateGate, timeouts: Timeouts) -> AsyncClient:
    """python-binance's AsyncClient aimed at `base_url` (no request is made here)."""

    async def on_start(session: aiohttp.ClientSession, ctx: SimpleNamespace,
                       params: aiohttp.TraceRequestStartParams) -> None:
        gate.sent += 1

    async def on_end(session: aiohttp.ClientSession, ctx: SimpleNamespace,
                     params: aiohttp.TraceRequestEndParams) -> None:
        await gate.observe(params.response.status, params.response.headers)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    trace.on_request_end.append(on_end)
    timeout = aiohttp.ClientTimeout(total=None, connect=timeouts.connect, sock_connect=timeouts.connect,
                                    sock_read=timeouts.read)
    client = AsyncClient(key, secret, requests_params={"timeout": timeout},
                         session_params={"trace_configs": [trace]})
    root = base_url.rstrip("/")
    client.API_URL = f"{root}/api"
    client.MARGIN_API_URL = f"{root}/sapi"
    client.REQUEST_RECVWINDOW = RECV_WINDOW_MS
    return client


Call = Callable[..., Awaitable[Any]]


Alarm = Callable[[str, dict[str, Any]], Awaitable[None]]
CLOCK_SAMPLES = 3


class Transport:
    def __init__(self, client: AsyncClient, gate: RateGate, timeouts: Timeouts, *,
                 max_offset_ms: int = 500) -> None:
        self.client = client
        self.gate = gate
        self.timeouts = timeouts
        self.max_offset_ms = max_offset_ms  # 0: any offset is compensated, trading never pauses for it
        self.offset_ms = 0
        self.resyncs = 0
        self.skewed = False
        self.on_alarm: Alarm | None = None

    # ------------------------------------------------------------------ the exchange's clock

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.offset_ms

    def now(self) -> datetime:
        return wire.from_ms(self.now_ms())

    async def resync(self, *, background: bool = False) -> int:
        """Measure the server clock: the median of a few `GET /api/v3/time` (each at the midpoint of its
        round trip). python-binance signs with the new offset; if the offset is beyond `max_offset_ms`,
        this machine's clock is wrong and writes pause until it is fixed (reliability.md §7.9)."""
        offsets = []
        for _ in range(CLOCK_SAMPLES):
            before = time.time()
            answer = await self.read(self.client.get_server_time, what="GET /api/v3/time", resync=False,
                                     background=background)
            after = time.time()
            offsets.append(int(wire.field(answer, "serverTime")) - int((before + after) * 500))
        self.offset_ms = int(statistics.median(offsets))
        self.client.timestamp_offset = self.offset_ms
        self.resyncs += 1
        skewed = bool(self.max_offset_ms) and abs(self.offset_ms) > self.max_offset_ms
        if skewed and not self.skewed:
            log.error("binance: this machine's clock is %.1f s off Binance's; trading pauses until it is fixed",
                      self.offset_ms / 1000)
            if self.on_alarm is not None:
                await self.on_alarm("clock", {"offset_ms": self.offset_ms, "limit_ms": self.max_offset_ms})
        self.skewed = skewed
        return self.offset_ms

    def clock_refusal(self) -> ExchangeError:
        return ExchangeError(0, f"This machine's clock is {abs(self.offset_ms) / 1000:.1f} s off Binance's (limit "
                                f"{self.max_offset_ms / 1000:g} s): trading is paused until it is fixed (check NTP); "
                                "nothing was sent.")

    # ------------------------------------------------------------------ reads: retried

    async def read(self, fn: Call, *, what: str, background: bool = False, resync: bool = True,
                   **params: Any) -> Any:
        """A query. Retried after -1021 (once, with a fresh clock), and after 5xx / timeouts / drops."""
        attempts = self.timeouts.read_retries + 1
        clock_fixed = not resync
        attempt = 0
        while True:
            attempt += 1
            await self.gate.admit(background=background)
            try:
                return await fn(**params)
            except TRANSPORT_ERRORS as exc:
                kind = kind_of(exc)
                if kind is Kind.CLOCK and not clock_fixed:
                    clock_fixed = True
                    log.info("binance: %s refused for its timestamp (-1021); resyncing the clock", what)
                    await self.resync()
                    continue
                if kind in (Kind.UNKNOWN, Kind.NOT_REACHED) and attempt < attempts:
                    await asyncio.sleep(self.timeouts.backoff(attempt))
                    continue
                raise self._port_error(exc, what) from None

    # ------------------------------------------------------------------ writes: sent once

    async def write(self, fn: Call, *, what: str, cancel: bool = False, **params: Any) -> Any:
        """A request that changes the account. Never re-sent: an unclear answer is `ExchangeUnavailable`.
        While the clock is off only cancels (which take risk away) go out."""
        if self.skewed and not cancel:
            raise self.clock_refusal()
        await self.gate.admit()
        try:
            return await fn(**params)
        except TRANSPORT_ERRORS as exc:
            if kind_of(exc) is Kind.CLOCK:
                await self._resync_quietly()
                raise ExchangeError(-1021, "The exchange clock and ours disagreed, so Binance refused the request "
                                           "before executing it; the clock is resynchronised — send it again.") \
                    from None
            raise self._port_error(exc, what) from None

    async def _resync_quietly(self) -> None:
        try:
            await self.resync()
        except Exception as exc:  # the refusal is what the user needs to see
            log.warning("binance: clock resync failed: %s", type(exc).__name__)

    def _port_error(self, exc: BaseException, what: str) -> Exception:
        return to_port_error(exc, what, self.gate.remaining())

    async def close(self) -> None:
        await self.client.close_connection()
