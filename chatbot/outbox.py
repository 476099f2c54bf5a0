"""One outbox per chat platform: the most urgent notice goes out first, whatever the platform.

Why in the core: under a platform's flood limit, a margin alert must not queue behind an interest
summary — on Telegram, Discord, or the next platform. Every delivery the notifier makes goes into
its platform's priority queue (notice kinds in `chatbot.config.KINDS` order: margin first), drained
by one worker. The platform's client still paces requests (PTB's rate limiter, discord.py's
buckets); when it gives up and the platform says "wait", the transport raises `RetryLater` and the
worker waits as told, then puts the delivery back in its priority slot — so a margin alert raised
meanwhile goes out before the queued summaries.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from chatbot.config import KINDS

log = logging.getLogger(__name__)
URGENCY = {kind: rank for rank, kind in enumerate(KINDS)}
MAX_ATTEMPTS = 5
Send = Callable[[], Awaitable[bool]]


class RetryLater(Exception):
    """The platform asked us to wait `seconds` before sending again (a flood limit)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


@dataclass(eq=False)
class _Job:
    what: str
    send: Send
    future: asyncio.Future[bool]
    attempts: int = 0


@dataclass(order=True)
class _Entry:
    urgency: int
    seq: int
    job: _Job = field(compare=False)


class Outbox:
    def __init__(self, platform: str, *, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.platform = platform
        self.max_attempts = max_attempts
        self._queue: asyncio.PriorityQueue[_Entry] = asyncio.PriorityQueue()
        self._seq = itertools.count()
        self._worker: asyncio.Task[None] | None = None
        self._closed = False

    def submit(self, kind: str, send: Send, what: str = "") -> asyncio.Future[bool]:
        """Queue one delivery; the future says whether it was delivered (an error is raised from it)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        if self._closed:
            future.set_result(False)
            return future
        self._queue.put_nowait(_Entry(URGENCY.get(kind, len(URGENCY)), next(self._seq), _Job(what or kind, send,
                                                                                               future)))
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain(), name=f"{self.platform}-outbox")
        return future

    async def close(self) -> None:
        """Stop the worker; deliveries still queued are reported as not delivered."""
        self._closed = True
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        while not self._queue.empty():
            job = self._queue.get_nowait().job
            if not job.future.done():
                job.future.set_result(False)

    async def _drain(self) -> None:
        while True:
            entry = await self._queue.get()
            job = entry.job
            if job.future.done():  # the publisher gave up waiting
                continue
            try:
                delivered = await job.send()
            except RetryLater as exc:
                job.attempts += 1
                if job.attempts >= self.max_attempts:
                    log.error("%s: gave up on %s after %d flood waits", self.platform, job.what, job.attempts)
                    job.future.set_result(False)
                    continue
                self._queue.put_nowait(entry)  # same urgency and place in line
                await asyncio.sleep(exc.seconds)
                continue
            except asyncio.CancelledError:
                if not job.future.done():
                    job.future.set_result(False)
                raise
            except Exception as exc:
                if not job.future.done():
                    job.future.set_exception(exc)
                continue
            if not job.future.done():
                job.future.set_result(delivered)
