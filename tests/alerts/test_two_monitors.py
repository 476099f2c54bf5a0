"""Two processes watching one account say each thing once: a repeat is claimed before it is sent.

Why it exists: the margin monitor runs in every process that sees an exchange event (each live
process has its own risk stream), so two of them may judge the same incident at the same moment.
Here the first process's repeat is held in delivery (its chat is slow) while a second process on
the same database and ledger checks the same account: it must find the repeat already claimed. Two
processes starting together post one start-up summary.
"""

from __future__ import annotations

import asyncio

from chatbot.replies import Notice
from tests.alerts.test_monitor import desk_on, open_3x_long, tick
from tests.recorders import Recorder


class SlowChannel(Recorder):
    """A channel whose deliveries can be held until released."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = False
        self.entered, self.release = asyncio.Event(), asyncio.Event()

    async def send_to_channel(self, channel_id: str, notice: Notice, *, silent: bool, topic_id: int | None) -> None:
        if self.hold:
            self.entered.set()
            await self.release.wait()
        await super().send_to_channel(channel_id, notice, silent=silent, topic_id=topic_id)


async def test_two_processes_send_one_repeat(db_url: str) -> None:
    one, _ = await desk_on(db_url)
    two, rec2 = await desk_on(db_url)  # a second process: its own core, engine and ledger cache
    rec1 = SlowChannel()
    one.core.notifier.register(rec1)  # replaces the first recorder on the console platform
    try:
        await open_3x_long(one)
        await tick(one, "26000", minutes=1)  # margin call: the first process fires it
        assert rec1.events()["fire"] == 1
        rec1.hold = True
        repeating = asyncio.create_task(one.exchange.advance(31 * 60))  # past the repeat interval
        await asyncio.wait_for(rec1.entered.wait(), 5)  # the first process is sending its repeat …
        await two.core.workers.run(lambda: two.core.monitor.check(None))  # … as the second one checks
        rec1.release.set()
        await asyncio.wait_for(repeating, 5)
        assert rec1.events()["repeat"] + rec2.events()["repeat"] == 1, (rec1.events(), rec2.events())
    finally:
        rec1.release.set()
        await one.close()
        await two.close()


async def test_two_processes_starting_together_post_one_start_up_summary(db_url: str) -> None:
    one, rec1 = await desk_on(db_url)
    two, rec2 = await desk_on(db_url)
    try:
        await open_3x_long(one)
        await tick(one, "26000", minutes=1)  # an account in danger as both processes start
        for desk in (one, two):
            await desk.core.workers.run(desk.core.monitor.startup_summary)
        assert rec1.events()["startup"] + rec2.events()["startup"] == 1, (rec1.events(), rec2.events())
        await tick(one, "25000", minutes=1)  # the danger changed: the next start-up says so again
        await two.core.workers.run(two.core.monitor.startup_summary)
        assert rec1.events()["startup"] + rec2.events()["startup"] == 2
    finally:
        await one.close()
        await two.close()
