"""What a failed Binance call means for the desk: refused, rate limited, not reached, or outcome unknown.

Why it exists: the core must never test Binance's numeric codes itself, and must never be told
"failed" when an order may have gone through. Classification happens here, at the transport
layer, where "never sent" (connection refused, connect timeout) can still be told apart from
"maybe sent" (read timeout, dropped connection, 5xx, -1006, -1007) — reliability.md §1.6.
Messages name the endpoint and Binance's own text only: never a URL with its query, a header, the
API key or the secret.
"""

from __future__ import annotations

from enum import Enum

import aiohttp
from binance.exceptions import BinanceAPIException, BinanceRequestException

from chatbot.exchange import (
    ExchangeError,
    ExchangeNotReached,
    ExchangeUnavailable,
    OrderNotFound,
    RateLimited,
)

UNKNOWN_CODES = {-1006, -1007}  # "execution status unknown" (Binance errors.md)
NOT_FOUND_CODES = {-2013, -2011}
CLOCK_CODE = -1021


class Kind(Enum):
    REFUSED = "refused"  # the exchange said no; nothing happened
    RATE_LIMITED = "rate_limited"  # 429/418: nothing happened; stop sending
    CLOCK = "clock"  # -1021: refused before execution; resync the time offset
    NOT_REACHED = "not_reached"  # never left this machine / never connected
    UNKNOWN = "unknown"  # may have happened: reconcile, never re-send


def kind_of(exc: BaseException) -> Kind:
    if isinstance(exc, BinanceAPIException):
        if exc.status_code in (418, 429):
            return Kind.RATE_LIMITED
        if exc.code == CLOCK_CODE:
            return Kind.CLOCK
        if exc.status_code >= 500 or exc.code in UNKNOWN_CODES:
            return Kind.UNKNOWN
        return Kind.REFUSED
    if isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)):
        return Kind.NOT_REACHED
    if isinstance(exc, (TimeoutError, aiohttp.ClientError, BinanceRequestException, ConnectionError)):
        return Kind.UNKNOWN
    raise TypeError(f"not a transport error: {type(exc).__name__}")


TRANSPORT_ERRORS = (BinanceAPIException, BinanceRequestException, aiohttp.ClientError, TimeoutError, ConnectionError)


def _describe(exc: BaseException) -> str:
    """A short reason without URLs (aiohttp messages can carry the signed query string)."""
    if isinstance(exc, BinanceAPIException):
        return f"HTTP {exc.status_code}" + (f" ({exc.code})" if exc.code else "")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "cannot connect"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "connect timeout"
    if isinstance(exc, TimeoutError):
        return "no answer in time (read timeout)"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the connection was dropped"
    if isinstance(exc, BinanceRequestException):
        return "an unreadable answer"
    return type(exc).__name__


def to_port_error(exc: BaseException, what: str, retry_after: float = 0.0) -> Exception:
    """The port's error for a failed call to `what` (e.g. "POST /sapi/v1/margin/order")."""
    kind = kind_of(exc)
    if kind is Kind.NOT_REACHED:
        return ExchangeNotReached(f"{what}: {_describe(exc)}; nothing was sent")
    if kind is Kind.UNKNOWN:
        return ExchangeUnavailable(f"{what}: {_describe(exc)}; the outcome is unknown")
    assert isinstance(exc, BinanceAPIException)
    code = int(exc.code or 0)
    msg = str(exc.message or "")
    if kind is Kind.RATE_LIMITED:
        return RateLimited(code or -1003, msg or "Too many requests.", retry_after, exc.status_code)
    if code in NOT_FOUND_CODES:
        return OrderNotFound(code, msg, exc.status_code)
    if exc.status_code == 404 and not code:
        return ExchangeError(0, f"{what}: Binance does not serve this endpoint (HTTP 404)", 404)
    return ExchangeError(code, msg or _describe(exc), exc.status_code)
