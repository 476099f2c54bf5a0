"""The exchange port's errors: refused (nothing happened), not reached, rate limited — or outcome unknown.

The core never tests an exchange's numeric codes itself: adapters sort every failure into one of
these, and the executor decides from the class alone whether to reconcile (unknown) or report.
"""

from __future__ import annotations


class ExchangeError(Exception):
    """An exchange refused a request. `code` and `msg` are Binance's (e.g. -3006, -2010)."""

    def __init__(self, code: int, msg: str, http_status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.http_status = http_status


class OrderNotFound(ExchangeError):
    """The order does not exist on the exchange (Binance -2013 on query, -2011 on cancel)."""


class RateLimited(ExchangeError):
    """Refused before execution because of a request-rate limit or an IP ban; nothing happened.

    `retry_after` is how long (seconds) no request may be sent.
    """

    def __init__(self, code: int, msg: str, retry_after: float, http_status: int = 429) -> None:
        super().__init__(code, msg, http_status)
        self.retry_after = retry_after


class ExchangeNotReached(ExchangeError):
    """The request never reached the exchange (connection refused, DNS, TLS): nothing happened."""

    def __init__(self, msg: str) -> None:
        super().__init__(0, msg, 0)


class ExchangeUnavailable(Exception):
    """The outcome of a request is unknown (timeout, 5xx, -1006/-1007): reconcile, never re-send."""
