"""A loop-bound exchange made callable from the core's worker threads.

Why it exists: the core runs each request on a worker thread with its own event loop
(`chatbot.workers`), but a network client such as python-binance's `AsyncClient` (an aiohttp
session) lives on the loop it was opened on. `home_bound(exchange)` wraps such an adapter so every
coroutine method is awaited on that home loop, whichever thread calls it; plain attributes and
synchronous methods (`name`, `subscribe`) pass through. An adapter that is safe to call from any
thread and loop (the paper exchange: a threading lock around its ledger) says so with
`thread_safe = True` and is used as it is — its database work then runs on the calling worker.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, cast

from chatbot.exchange.port import Exchange
from chatbot.workers import on_home


class HomeBound:
    """Forwards every call to `inner`; coroutine methods run on the home loop."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if not inspect.iscoroutinefunction(value):
            return value

        @functools.wraps(value)
        async def on_its_loop(*args: Any, **kwargs: Any) -> Any:
            return await on_home(lambda: value(*args, **kwargs))

        return on_its_loop


def home_bound(exchange: Exchange) -> Exchange:
    """`exchange` itself when any thread may call it, else wrapped to run on its home loop."""
    if getattr(exchange, "thread_safe", False) or isinstance(exchange, HomeBound):
        return exchange
    return cast(Exchange, HomeBound(exchange))
