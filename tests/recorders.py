"""A notifier transport for tests that keeps what it was given: what the desk told people, to assert on.

Why it exists: the monitor, promise and live-adapter tests each wrote the same small transport (our
own port, `chatbot.notify`, not a library). Register one with `core.notifier.register(Recorder())`;
it records channel notices in `channel` and direct messages as (member name, notice) in `dms`, and
every delivery succeeds. `Recorder(channels=False)` is for a desk with no channel configured: a
channel notice there fails the test.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from chatbot.replies import Notice
from chatbot.store.members import DeskMember


class Recorder:
    """Records every notice; `nth` waits for a channel notice, woken by its arrival (not by polling)."""

    platform = "console"

    def __init__(self, *, channels: bool = True) -> None:
        self.channel: list[Notice] = []
        self.dms: list[tuple[str, Notice]] = []
        self.channels = channels
        self.arrived = asyncio.Event()

    async def send_to_member(self, member: DeskMember, notice: Notice) -> bool:
        self.dms.append((member.name, notice))
        return True

    async def send_to_channel(self, channel_id: str, notice: Notice, *, silent: bool, topic_id: int | None) -> None:
        if not self.channels:
            raise AssertionError("no channel is configured")
        self.channel.append(notice)
        self.arrived.set()

    def events(self, kind: str = "margin") -> Counter[str]:
        """How many channel notices of `kind` there were per event (fire, repeat, escalate, resolve …)."""
        return Counter(n.data.get("event", "") for n in self.channel if n.kind == kind)

    def dm_titles(self) -> list[tuple[str, str]]:
        """(member name, title) of each direct message, in order."""
        return [(name, notice.reply.title) for name, notice in self.dms]

    async def nth(self, n: int, timeout: float = 5.0) -> Notice:
        """The n-th channel notice (1-based), waiting for it (woken by its arrival, not by polling)."""
        while len(self.channel) < n:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), timeout)
        return self.channel[n - 1]
