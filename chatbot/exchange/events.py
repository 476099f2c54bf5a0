"""Exchange events and their listeners: how an exchange tells the core (the margin monitor) at once.

`Listeners` is the one way an adapter hands an event to every subscriber: each listener runs in turn,
awaited when it is a coroutine, and one failing listener never stops the others. `stop_feeds` ends
the background tasks that produce events (a paper clock, a price feed, a risk stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExchangeEvent:
    """Something happened on the exchange that alerts may care about."""

    kind: str  # "price" | "fill" | "band" | "liquidation" | "liability" | "clock"
    time: datetime
    isolated_symbol: str | None = None
    data: dict[str, object] = field(default_factory=dict)


EventListener = Callable[[ExchangeEvent], Awaitable[None] | None]


class Listeners:
    def __init__(self) -> None:
        self.items: list[EventListener] = []

    def add(self, listener: EventListener) -> None:
        self.items.append(listener)

    def remove(self, listener: EventListener) -> None:
        if listener in self.items:
            self.items.remove(listener)

    async def emit(self, event: ExchangeEvent) -> None:
        for listener in list(self.items):
            try:
                result = listener(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("exchange event listener %r failed on a %s event", listener, event.kind)


async def stop_feeds(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel an exchange's background tasks and wait until each has ended."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
