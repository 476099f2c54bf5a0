"""A fake Binance REST (and margin risk stream) on 127.0.0.1:0, so python-binance's real AsyncClient runs offline.

Why it exists: the live adapter must be tested against what Binance does on the wire, not against
mocks of python-binance. This server checks every request as Binance does (API key, HMAC-SHA256
over the raw query + raw body — strict, the 2026 rule —, timestamp within recvWindow), serves the
live margin endpoints over the paper engine (`adapters.paper.PaperBook`, public methods only,
see `binance_routes.py`), answers the endpoints Binance REMOVED with an error, reports used weight
in Binance's headers, pushes MARGIN_LEVEL_STATUS_CHANGE / USER_LIABILITY_CHANGE on `/ws/<listenKey>`
and injects faults (timeouts and 503s after or before applying, 429/418 with Retry-After, -1021,
-2013 before an order shows up). Every request is logged, so tests count what reached "Binance".

Its clock is the engine's, running in real time from `start` (so the signature time check and the
records agree); `advance()` jumps it, as a drifting server clock would.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from aiohttp import web

from adapters.paper import PaperBook
from adapters.paper.model import dt_to_ms
from chatbot.config import PaperConfig
from chatbot.exchange import ExchangeError

from .binance_params import Params
from .binance_routes import REMOVED, ROUTES
from .server import LocalServer

API_KEY = "fakeKEY0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01"
API_SECRET = "fakeSECRET9876543210zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFE"
START = datetime(2024, 1, 1, 0, 10, tzinfo=UTC)
IN_FLIGHT = 0.05  # requests arriving this soon after a 429/418 were already on their way: not violations
BIG_UID_WEIGHT = 1500  # POST margin/order with MARGIN_BUY or AUTO_BORROW_REPAY (since 2026-05-07)


def sign(secret: str, payload: str) -> str:
    """Binance's HMAC-SHA256 signature (hex) of the exact bytes of query string + body."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def default_config(**overrides: Any) -> PaperConfig:
    values: dict[str, Any] = {
        "taker_fee": "0", "maker_fee": "0", "prices": {"BTCUSDT": "35000", "ETHUSDT": "2000"},
        "daily_interest_rates": {"BTC": "0.00024", "ETH": "0.00024", "USDT": "0.00024"},
        "cross": {"USDT": "20000"}, "spot": {"USDT": "5000"},
    }
    values.update(overrides)
    return PaperConfig.model_validate(values)


@dataclass
class Seen:
    """One request as the fake saw it."""

    method: str
    path: str
    params: Params
    status: int = 0
    code: int | None = None
    applied: bool = False
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    method: str
    path: str
    kind: str  # 503 | 503_after | timeout_after | drop_after | -1007_after | 429 | 418 | -1021 | -2013 | error
    times: int = 1
    skip: int = 0  # let this many matching requests through first
    retry_after: int = 1
    delay: float = 5.0
    code: int = 0
    msg: str = ""


AFTER = {"503_after", "timeout_after", "drop_after", "-1007_after"}


class FakeBinance(LocalServer):
    runner_options: ClassVar[dict[str, Any]] = {"handler_cancellation": True}

    def __init__(self, config: PaperConfig | None = None, *, api_key: str = API_KEY, api_secret: str = API_SECRET,
                 start: datetime = START, latency: float = 0.0) -> None:
        super().__init__()
        self.book = PaperBook(config or default_config(), now_ms=dt_to_ms(start))
        self.book.seed()
        self.book.take_journal()
        self.api_key, self.api_secret = api_key, api_secret
        self.latency = latency
        self.restrictions: dict[str, Any] = {}
        self.listen_keys: set[str] = set()
        self.seen: list[Seen] = []
        self.faults: list[Fault] = []
        self.blocked_until = 0.0  # monotonic end of a 429/418 window
        self.blocked_status = 0
        self.limited_at = 0.0
        self.violations: list[Seen] = []  # requests that arrived inside a Retry-After window
        self.weight_base = 0  # pretend other clients of this IP used this much weight this minute
        self._weights: dict[tuple[int, str], int] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        self._outbox: list[dict[str, Any]] = []
        self._synced = time.monotonic()

    # ------------------------------------------------------------------ lifecycle

    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/ws/{key}", self._stream)
        app.router.add_route("*", "/{tail:.*}", self._handle)

    async def close(self) -> None:
        await self.drop_streams()
        await super().close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ test controls

    @property
    def now_ms(self) -> int:
        return self.book.now_ms

    def sync(self) -> None:
        """Move the engine clock with real time (and collect what it emitted)."""
        now = time.monotonic()
        ms = int((now - self._synced) * 1000)
        if ms > 0:
            self._synced += ms / 1000
            self.book.advance_ms(ms)
        self._collect()

    async def set_price(self, symbol: str, price: Decimal | str) -> None:
        self.sync()
        self.book.set_prices({symbol: Decimal(price)})
        self._collect()
        await self._flush()

    async def advance(self, seconds: float) -> None:
        """Jump the exchange clock (interest hours pass); clients must resync their time offset."""
        self.sync()
        self.book.advance_ms(int(seconds * 1000))
        self._collect()
        await self._flush()

    def fail(self, method: str, path: str, kind: str, **kw: Any) -> Fault:
        fault = Fault(method.upper(), path, kind, **kw)
        self.faults.append(fault)
        return fault

    def requests(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        return [s for s in self.seen if (method is None or s.method == method) and (path is None or s.path == path)]

    def count(self, method: str, path: str) -> int:
        return len(self.requests(method, path))

    def reset_weights(self) -> None:
        self._weights.clear()

    async def drop_streams(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        self._sockets.clear()

    @property
    def streams(self) -> int:
        return len(self._sockets)

    # ------------------------------------------------------------------ the request path

    def _answer(self, seen: Seen, status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
        seen.status = status
        if isinstance(body, dict) and status >= 400 and "code" in body:
            seen.code = body["code"]
        text = body if isinstance(body, str) else json.dumps(body)
        ctype = "text/html" if isinstance(body, str) else "application/json"
        return web.Response(status=status, text=text, content_type=ctype, headers=headers)

    def _error(self, seen: Seen, code: int, msg: str, status: int = 400,
               headers: dict[str, str] | None = None) -> web.Response:
        return self._answer(seen, status, {"code": code, "msg": msg}, headers)

    def _fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.method == method and fault.path == path and fault.times > 0:
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.times -= 1
                return fault
        return None

    def _check_auth(self, request: web.Request, seen: Seen, security: str, raw: str) -> web.Response | None:
        if security == "NONE":
            return None
        key = request.headers.get("X-MBX-APIKEY")
        if not key:
            return self._error(seen, -2014, "API-key format invalid.", 401)
        if not hmac.compare_digest(key, self.api_key):
            return self._error(seen, -2015, "Invalid API-key, IP, or permissions for action.", 401)
        if security == "KEY" and "&signature=" not in f"&{raw}":
            return None
        if "signature=" not in raw:
            return self._error(seen, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or "
                                            "malformed.")
        payload, _, signature = raw.rpartition("&signature=") if "&signature=" in raw else ("", "", "")
        if not hmac.compare_digest(sign(self.api_secret, payload), signature.lower()):
            return self._error(seen, -1022, "Signature for this request is not valid.")
        stamp, window = seen.params.get("timestamp", ""), seen.params.get("recvWindow", "5000")
        if not stamp.isdigit() or not window.isdigit() or int(window) > 60000:
            return self._error(seen, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or "
                                            "malformed.")
        server = self.book.now_ms
        if not (int(stamp) < server + 1000 and server - int(stamp) <= int(window)):
            return self._error(seen, -1021, "Timestamp for this request is outside of the recvWindow.")
        return None

    def _weigh(self, seen: Seen, weight: int, uid: int) -> dict[str, str]:
        minute = int(time.time() // 60)
        if seen.path.startswith("/api/"):
            names = {"X-MBX-USED-WEIGHT-1M": weight}
        else:
            names = {"X-SAPI-USED-IP-WEIGHT-1M": weight}
            if uid:
                names["X-SAPI-USED-UID-WEIGHT-1M"] = uid
        out = {}
        for name, add in names.items():
            total = self._weights.get((minute, name), 0) + add
            self._weights[(minute, name)] = total
            out[name] = str(total + self.weight_base)
        return out

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_query = request.raw_path.partition("?")[2]
        raw_body = (await request.read()).decode()
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
        params.update(parse_qsl(raw_body, keep_blank_values=True))
        method, path = request.method, request.path
        seen = Seen(method, path, params)
        self.seen.append(seen)
        if self.latency:
            await asyncio.sleep(self.latency)
        self.sync()
        if time.monotonic() < self.blocked_until:
            if seen.at - self.limited_at > IN_FLIGHT:  # sent after the client could know
                self.violations.append(seen)
            retry = str(max(1, int(self.blocked_until - time.monotonic() + 0.999)))
            return self._error(seen, -1003, "Too many requests; IP banned or rate limited.", self.blocked_status,
                               {"Retry-After": retry})
        if path in REMOVED or f"{path}:{method}" in REMOVED:
            return self._answer(seen, 404, "<html><body><h1>404 Not Found</h1></body></html>")
        route = ROUTES.get((method, path))
        if route is None:
            return self._error(seen, -1000, f"Unknown endpoint {method} {path}.", 404)
        fault = self._fault(method, path)
        if fault is not None and fault.kind not in AFTER:
            early = self._early_fault(seen, fault)
            if early is not None:
                return early
        refused = self._check_auth(request, seen, route.security, raw_query + raw_body)
        if refused is not None:
            return refused
        uid = route.uid_weight
        if path == "/sapi/v1/margin/order" and params.get("sideEffectType") in ("MARGIN_BUY", "AUTO_BORROW_REPAY"):
            uid = BIG_UID_WEIGHT
        headers = self._weigh(seen, route.weight, uid)
        try:
            result = route.handler(self, params)
        except ExchangeError as exc:
            self._collect()
            return self._error(seen, exc.code, exc.msg, exc.http_status or 400, headers)
        except (ValueError, KeyError) as exc:
            return self._error(seen, -1100, f"Illegal characters found in a parameter: {exc}", 400, headers)
        seen.applied = True
        self._collect()
        await self._flush()
        if fault is not None:
            return await self._late_fault(request, seen, fault)
        return self._answer(seen, 200, result, headers)

    def _early_fault(self, seen: Seen, fault: Fault) -> web.Response | None:
        if fault.kind == "503":
            return self._answer(seen, 503, "<html><body>503 Service Unavailable</body></html>")
        if fault.kind in ("429", "418"):
            self.blocked_until = time.monotonic() + fault.retry_after
            self.limited_at = time.monotonic()
            self.blocked_status = int(fault.kind)
            msg = "Too many requests; current limit of IP is 6000 requests per minute." if fault.kind == "429" \
                else "Way too much request weight used; IP banned."
            return self._error(seen, -1003, msg, int(fault.kind), {"Retry-After": str(fault.retry_after)})
        if fault.kind == "-1021":
            return self._error(seen, -1021, "Timestamp for this request is outside of the recvWindow.")
        if fault.kind == "-2013":
            return self._error(seen, -2013, "Order does not exist.")
        if fault.kind == "error":
            return self._error(seen, fault.code, fault.msg)
        raise ValueError(f"unknown fault kind {fault.kind}")

    async def _late_fault(self, request: web.Request, seen: Seen, fault: Fault) -> web.StreamResponse:
        """The request took effect; the answer is lost or says the outcome is unknown."""
        if fault.kind == "503_after":
            return self._answer(seen, 503, "<html><body>503 Service Unavailable</body></html>")
        if fault.kind == "-1007_after":
            return self._error(seen, -1007, "Timeout waiting for response from backend server. Send status "
                                            "unknown; execution status unknown.", 408)
        if fault.kind == "drop_after":
            seen.status = -1
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError
        await asyncio.sleep(fault.delay)  # timeout_after: longer than the client waits
        return self._answer(seen, 503, "<html><body>late</body></html>")

    # ------------------------------------------------------------------ the margin risk stream

    def _collect(self) -> None:
        for event in self.book.take_journal().events:
            if event.isolated_symbol is not None:
                continue  # the risk stream covers cross margin only
            stamp = int(event.time.timestamp() * 1000)
            if event.kind == "band":
                self._outbox.append({"e": "MARGIN_LEVEL_STATUS_CHANGE", "E": stamp,
                                     "l": str(event.data["level"]), "s": str(event.data["new"])})
            elif event.kind == "liability":
                self._outbox.append({"e": "USER_LIABILITY_CHANGE", "E": stamp, "a": event.data["asset"],
                                     "t": event.data["type"], "p": str(event.data["principal"]),
                                     "i": str(event.data["interest"])})

    async def _flush(self) -> None:
        out, self._outbox = self._outbox, []
        for message in out:
            for ws in list(self._sockets):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_str(json.dumps(message))

    async def push(self, message: dict[str, Any]) -> None:
        """Send a raw stream message (e.g. listenKeyExpired) to every connected client."""
        self._outbox.append(message)
        await self._flush()

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        self.seen.append(Seen("WS", "/ws", {}))
        if key not in self.listen_keys:
            return web.Response(status=400, text="invalid listen key")
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            async for _ in ws:
                pass
        finally:
            self._sockets.discard(ws)
        return ws
