"""A slow recipient never slows anyone else down: notices go out off the request path, and updates from
different members are handled concurrently (each member's own in order)."""

from __future__ import annotations

import asyncio
import time

from chatbot.config import PolicyConfig
from chatbot.replies import Notice
from chatbot.store.members import DeskMember
from tests.fakes.telegram import FakeTelegram
from tests.telegram.desk import CAROL, DAVE
from tests.telegram.test_flows import MakeBot, MakeCore, say

SLOW = 2.0


class SlowInbox:
    """Another platform where alice's direct messages take two seconds to arrive."""

    platform = "console"

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str]] = []

    async def send_to_member(self, member: DeskMember, notice: Notice) -> bool:
        if member.name == "alice":
            await asyncio.sleep(SLOW)
        self.delivered.append((member.name, notice.reply.title))
        return True

    async def send_to_channel(self, channel_id: str, notice: Notice, *, silent: bool, topic_id: int | None) -> None:
        return None


async def first_message(fake: FakeTelegram, chat: int, containing: str) -> float:
    """When (by the fake's clock) the bot first sent `chat` a message containing `containing`."""
    seen = 0
    while True:
        calls = await fake.wait_for("sendMessage", seen + 1)
        for call in calls[seen:]:
            if call.params["chat_id"] == chat and containing in call.result["text"]:
                return call.at
        seen = len(calls)


async def test_an_admin_whose_dms_take_two_seconds_delays_no_one(fake: FakeTelegram, make_core: MakeCore,
                                                                 make_bot: MakeBot) -> None:
    core = await make_core(policy=PolicyConfig(approval_notional_usdt=500))
    await make_bot(core)
    slow = SlowInbox()
    core.notifier.register(slow)
    await say(fake, CAROL, "/borrow USDT 1000")
    started = time.monotonic()
    fake.command(CAROL, "/confirm")  # asks the admins: alice's DM on the other platform is the slow one
    fake.command(DAVE, "/status")
    carol = await first_message(fake, CAROL, "sent to the admins")
    dave = await first_message(fake, DAVE, "Status")
    assert carol - started < SLOW / 2 and dave - started < SLOW / 2, (carol - started, dave - started)
    await core.notifier.drain()
    assert sorted(name for name, _ in slow.delivered) == ["alice", "bob"]  # and alice did get it, later


async def test_one_members_commands_stay_in_order(fake: FakeTelegram, make_core: MakeCore,
                                                  make_bot: MakeBot) -> None:
    core = await make_core()
    await make_bot(core)
    before = len(fake.calls_of("sendMessage"))
    fake.command(CAROL, "/borrow USDT 100")
    fake.command(CAROL, "/confirm")  # delivered together: the confirm must see the borrow's prompt
    replies = (await fake.wait_for("sendMessage", before + 2))[before:]
    texts = [r.result["text"] for r in replies]
    assert "Confirm borrow 100 USDT" in texts[0] and texts[1].startswith("✅ Done"), texts
