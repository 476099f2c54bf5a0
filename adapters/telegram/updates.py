"""Telegram updates handled concurrently, each sender's in the order they were sent.

PTB handles one update at a time by default: one member's slow command (a confirmation whose
exchange call takes a second) would hold up every other member's `/status`. With this processor
updates run concurrently (up to `max_concurrent_updates`), but two updates from the same sender
never overlap and keep their order — a `/borrow` is always previewed before its `/confirm` is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT_UPDATES = 256


class PerSenderOrder(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._queues: dict[int, tuple[asyncio.Lock, list[int]]] = {}  # sender -> (lock, [holders + waiters])

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        sender = user.id if user is not None else 0
        lock, users = self._queues.setdefault(sender, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:  # asyncio.Lock wakes waiters first come, first served: the sender's order
                await coroutine
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._queues[sender]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
