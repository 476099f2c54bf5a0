"""What the fake servers share: an aiohttp app on 127.0.0.1 and a free port, and waiting woken by the server.

Why it exists: the fake Telegram, Discord and Binance each started an app, found its port and
cleaned up the same way; this is that part once. A subclass adds its routes in `_routes(app)` (and
may change `runner_options`); the chat fakes call `_notify()` whenever they have handled something,
and tests wait with `wait_until(predicate)` (re-checked on every notify), so nothing sleep-polls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar, Self

from aiohttp import web


class LocalServer:
    """`async with Subclass() as fake:`: serving on `fake.port` until the block ends."""

    runner_options: ClassVar[dict[str, Any]] = {"shutdown_timeout": 0.5}

    def __init__(self) -> None:
        self.port = 0
        self._cond = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> Self:
        app = web.Application()
        self._routes(app)
        self._runner = web.AppRunner(app, access_log=None, **self.runner_options)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def wait_until(self, predicate: Callable[[], Any], *, timeout: float = 5.0) -> Any:
        """Until `predicate()` is truthy (re-checked whenever the fake handles something); returns it."""
        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(predicate), timeout)
        return predicate()
