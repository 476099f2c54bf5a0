"""Account events for the core's listeners: Binance's margin risk stream (cross) and a light band poll.

Why it exists: a margin call must not wait for the next monitor cycle. For cross margin Binance
pushes MARGIN_LEVEL_STATUS_CHANGE and USER_LIABILITY_CHANGE on its risk data stream
(`POST /sapi/v1/margin/listen-key`, then `<stream>/ws/<listenKey>`); python-binance has no method
for it, so this module keeps the connection: keepalive every 30 minutes, reconnect with backoff,
a new key when Binance expires it. Isolated accounts have no stream, so a poller compares their
bands (one request for all pairs) — and cross too while the stream is down — and emits a `band`
event when one changes. The poller runs at the desk's monitor period, stretched when the request
weight used this minute is high; the core's own monitor poll runs regardless.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

import aiohttp

from chatbot.exchange import ExchangeEvent, Listeners
from chatbot.margin import Band

from . import wire
from .gate import RateGate
from .transport import Transport

log = logging.getLogger(__name__)
BINANCE_HOSTS = {"api.binance.com", "api1.binance.com", "api2.binance.com", "api3.binance.com",
                 "api4.binance.com"}
RISK_STREAM = "wss://margin-stream.binance.com"
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


def stream_root(base_url: str) -> str:
    """Binance's risk stream host for the real API; the same host (ws/wss) for a proxy or a fake."""
    parts = urlsplit(base_url)
    if parts.hostname in BINANCE_HOSTS:
        return RISK_STREAM
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}"


def stream_event(message: dict[str, object]) -> ExchangeEvent | None:
    """One risk-stream message → an `ExchangeEvent` (None for messages alerts do not need)."""
    kind = message.get("e")
    when = wire.from_ms(message.get("E") or 0)
    if kind == "MARGIN_LEVEL_STATUS_CHANGE":
        return ExchangeEvent("band", when, None, {"level": wire.dec(message.get("l"), "l"),
                                                  "new": str(message.get("s")), "source": "stream"})
    if kind == "USER_LIABILITY_CHANGE":
        return ExchangeEvent("liability", when, None, {
            "asset": message.get("a"), "type": message.get("t"), "principal": wire.dec(message.get("p", "0"), "p"),
            "interest": wire.dec(message.get("i", "0"), "i"), "source": "stream"})
    return None


class RiskStream:
    """The cross-margin risk data stream, kept connected."""

    def __init__(self, transport: Transport, root: str, listeners: Listeners, *,
                 keepalive_seconds: float = 1800.0, backoff: tuple[float, ...] = BACKOFF) -> None:
        self.t = transport
        self.root = root
        self.listeners = listeners
        self.keepalive_seconds = keepalive_seconds
        self.backoff = backoff
        self.connected = asyncio.Event()
        self.connections = 0
        self.key: str | None = None

    async def _key_call(self, method: str, **data: str) -> dict[str, object]:
        async def call() -> dict[str, object]:
            # python-binance has no public method for the margin listen key (its stream helpers are
            # for spot); its own signed-request path is the one that reaches it.
            answer: dict[str, object] = await self.t.client._request_margin_api(
                method, "margin/listen-key", signed=False, data=dict(data))
            return answer

        result: dict[str, object] = await self.t.read(call, what=f"{method.upper()} /sapi/v1/margin/listen-key",
                                                      background=True)
        return result

    async def _keepalive(self, key: str) -> None:
        while True:
            await asyncio.sleep(self.keepalive_seconds)
            await self._key_call("put", listenKey=key)

    async def run(self) -> None:
        failures = 0
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    await self._connect(session)
                    failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # any failure means: reconnect later
                    log.warning("binance: risk stream down (%s); the monitor poll covers meanwhile",
                                type(exc).__name__)
                self.connected.clear()
                delay = self.backoff[min(failures, len(self.backoff) - 1)]
                failures += 1
                await asyncio.sleep(delay)

    async def _connect(self, session: aiohttp.ClientSession) -> None:
        answer = await self._key_call("post")
        key = str(answer["listenKey"])
        self.key = key
        async with session.ws_connect(f"{self.root}/ws/{key}", heartbeat=30) as ws:
            self.connected.set()
            self.connections += 1
            log.info("binance: risk stream connected")
            keeper = asyncio.create_task(self._keepalive(key))
            try:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    data = json.loads(msg.data)
                    if data.get("e") in ("listenKeyExpired", "eventStreamTerminated"):
                        break
                    event = stream_event(data)
                    if event is not None:
                        await self.listeners.emit(event)
            finally:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await keeper

    async def close_key(self) -> None:
        if self.key is not None:
            with contextlib.suppress(Exception):
                await self._key_call("delete", listenKey=self.key)
            self.key = None


BandReader = Callable[[], Awaitable[dict[str | None, tuple[Decimal, Band]]]]


class BandPoller:
    """Polls margin levels and emits a `band` event when an account's band changes."""

    def __init__(self, read_bands: BandReader, listeners: Listeners, gate: RateGate, period: float) -> None:
        self.read_bands = read_bands
        self.listeners = listeners
        self.gate = gate
        self.period = period
        self.bands: dict[str | None, Band] = {}
        self.polls = 0

    async def poll_once(self, now: Callable[[], datetime]) -> list[ExchangeEvent]:
        observed = await self.read_bands()
        self.polls += 1
        events = []
        for account, (level, band) in observed.items():
            old = self.bands.get(account)
            self.bands[account] = band
            if old is not None and old != band:
                events.append(ExchangeEvent("band", now(), account,
                                            {"level": level, "old": old, "new": band, "source": "poll"}))
        for event in events:
            await self.listeners.emit(event)
        return events

    async def run(self, now: Callable[[], datetime]) -> None:
        while True:
            await asyncio.sleep(self.period * self.gate.slowdown())
            try:
                await self.poll_once(now)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed poll (rate limited, unreachable) is retried next period
                log.info("binance: band poll skipped (%s)", type(exc).__name__)
