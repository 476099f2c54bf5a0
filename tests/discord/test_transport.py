"""The notifier transport: alert channels (edited in place), DMs, silent mode, mentions, Discord's refusals."""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

import pytest

from adapters.discord import DiscordBot
from chatbot.config import ChannelConfig
from chatbot.core import DeskCore
from chatbot.replies import Action, ActionStyle, Notice, Reply, Severity
from tests.chat_desk import MakeCore
from tests.discord.desk import ALICE, BOB, CAROL, MakeBot
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord_wire import DESK_CHANNEL, SUPPRESS_NOTIFICATIONS

QUIET_CHANNEL = "1300000000000000009"


def notice(kind: str, title: str, **kw: Any) -> Notice:
    return Notice(kind, Reply(title=title, severity=Severity.WARNING), **kw)


async def slash_and_wait(fake: FakeDiscord, user: int, name: str, options: dict[str, Any]) -> dict[str, Any]:
    ix = await fake.slash(user, name, options)
    (reply,) = await fake.wait_replies(ix)
    return copy.deepcopy(reply)


async def test_a_margin_alert_reaches_the_channels_and_is_edited_in_place(fake: FakeDiscord, make_core: MakeCore,
                                                                          make_bot: MakeBot) -> None:
    channels = [ChannelConfig(platform="discord", id=DESK_CHANNEL, kinds={"margin": "on"}),
                ChannelConfig(platform="discord", id=QUIET_CHANNEL, kinds={"margin": "silent"})]
    core = await make_core(paper=True, channels=channels)
    await make_bot(core)
    prompt = await slash_and_wait(fake, CAROL, "borrow", {"asset": "BTC", "amount": "1"})
    press = await fake.click(CAROL, prompt, FakeDiscord.buttons(prompt)[0]["custom_id"])
    await fake.wait_until(lambda: fake.replies(press))
    assert "Done [" in fake.text_of(fake.replies(press)[0])

    # Drill: BTC up to 45000 → margin level 1.44, below the desk's warn bar (1.5): an incident opens.
    await slash_and_wait(fake, ALICE, "price", {"symbol": "BTCUSDT", "price": "45000"})
    alerts = await fake.wait_until(lambda: len(fake.calls_of("create_message")) >= 2 and fake.calls_of(
        "create_message"))
    by_channel = {c.path.split("/")[2]: c for c in alerts}
    assert set(by_channel) == {DESK_CHANNEL, QUIET_CHANNEL}
    loud, quiet = by_channel[DESK_CHANNEL].result, by_channel[QUIET_CHANNEL].result
    assert loud["embeds"][0]["title"].startswith("⚠️ LOW MARGIN — cross margin level 1.4444")
    assert quiet["flags"] & SUPPRESS_NOTIFICATIONS and not loud["flags"] & SUPPRESS_NOTIFICATIONS
    (ack,) = FakeDiscord.buttons(loud)
    assert ack["label"] == "Acknowledge" and ack["custom_id"].startswith("dmb:ak:")

    # Worse: 70000 → 1.2857, a margin call. The same two messages are edited, nothing new is posted.
    await slash_and_wait(fake, ALICE, "price", {"symbol": "BTCUSDT", "price": "70000"})
    edits = await fake.wait_for("edit_message", 2)
    assert {c.path for c in edits} == {f"/channels/{cid}/messages/{by_channel[cid].result['id']}"
                                       for cid in (DESK_CHANNEL, QUIET_CHANNEL)}
    assert len(fake.calls_of("create_message")) == 2
    current = fake.messages[loud["id"]]
    assert current["embeds"][0]["title"].startswith("⛔ WORSE: MARGIN CALL — cross margin level 1.2857")
    assert FakeDiscord.buttons(current)[0]["custom_id"] == ack["custom_id"]

    # Acknowledged from the channel: the alert shows who, and loses its button.
    ix = await fake.click(ALICE, copy.deepcopy(current), ack["custom_id"])
    await fake.wait_until(lambda: fake.replies(ix))
    (acked,) = fake.replies(ix)
    assert acked["id"] == loud["id"] and acked["components"] == []
    assert "acknowledged by alice" in acked["embeds"][0]["title"]
    assert acked["embeds"][0]["author"]["name"].startswith("⛔ WORSE: MARGIN CALL")
    assert core.incidents.all_open()[0].acknowledged_by == "alice"


async def test_dms_go_to_members_with_a_discord_id(fake: FakeDiscord, core: DeskCore, bot: DiscordBot) -> None:
    assert core.notifier.transports["discord"] is bot.transport
    delivered = await core.notifier.publish(notice("approvals", "Hello admins", to_members=("alice", "erin"),
                                                   to_channels=False))
    assert delivered == 1  # erin has no Discord id
    (dm,) = fake.calls_of("create_dm")
    assert str(dm.body["recipient_id"]) == str(ALICE)
    (msg,) = fake.channel_messages(fake.dm_channels[str(ALICE)])
    assert msg["embeds"][0]["title"] == "⚠️ Hello admins"
    await core.notifier.publish(notice("approvals", "Again", to_members=("alice",), to_channels=False))
    assert len(fake.calls_of("create_dm")) == 1  # the DM channel is remembered


async def test_a_member_with_closed_dms_is_logged_not_fatal(fake: FakeDiscord, core: DeskCore, bot: DiscordBot,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    fake.fail_next("create_message", 403, 50007, "Cannot send messages to this user")
    with caplog.at_level(logging.WARNING):
        delivered = await core.notifier.publish(notice("approvals", "Approve?", to_members=("alice", "bob"),
                                                       to_channels=False))
    assert delivered == 1
    assert [m["channel_id"] for m in fake.messages.values()] == [fake.dm_channels[str(BOB)]]
    assert "Cannot send messages to this user" in caplog.text and "Traceback" not in caplog.text


async def test_escalations_mention_exactly_the_admins(fake: FakeDiscord, make_core: MakeCore,
                                                      make_bot: MakeBot) -> None:
    core = await make_core(channels=[ChannelConfig(platform="discord", id=DESK_CHANNEL, kinds={"margin": "on"})])
    await make_bot(core)
    first = Notice("margin", Reply(title="MARGIN CALL", severity=Severity.ERROR,
                                   actions=(Action("Acknowledge", "ak:n1", "/ack 1", ActionStyle.PRIMARY),)),
                   key="incident:1")
    await core.notifier.publish(first)
    (posted,) = fake.calls_of("create_message")
    assert fake.messages[posted.result["id"]]["_pinged"] == []
    assert posted.body["allowed_mentions"] == {"parse": []}  # nothing in a notice may ping by accident

    escalated = Notice("margin", Reply(title="ESCALATED: MARGIN CALL @everyone", severity=Severity.ERROR,
                                       mentions=("alice", "bob", "erin"),
                                       actions=(Action("Acknowledge", "ak:n1", "/ack 1", ActionStyle.PRIMARY),)),
                       key="incident:1")
    await core.notifier.publish(escalated)
    (edit,) = fake.calls_of("edit_message")
    assert edit.body["content"] == f"<@{ALICE}> <@{BOB}> @erin"  # erin has no Discord id: named, not pinged
    # An edit notifies nobody, so a reply to the alert mentions them, and only them.
    ping = fake.calls_of("create_message")[1]
    assert str(ping.body["message_reference"]["message_id"]) == posted.result["id"]
    allowed = ping.body["allowed_mentions"]
    assert allowed["parse"] == [] and [str(u) for u in allowed["users"]] == [str(ALICE), str(BOB)]
    assert sorted(fake.messages[ping.result["id"]]["_pinged"]) == [str(ALICE), str(BOB)]


async def test_threads_and_rate_limits(fake: FakeDiscord, make_core: MakeCore, make_bot: MakeBot) -> None:
    thread = "1300000000000000077"
    core = await make_core(channels=[ChannelConfig(platform="discord", id=DESK_CHANNEL, topic_id=int(thread),
                                                   kinds={"interest": "on"})])
    await make_bot(core)
    fake.fail_next("create_message", 429, 20028, "You are being rate limited.",
                   body={"retry_after": 0.05, "global": False})
    assert await core.notifier.publish(notice("interest", "Daily interest")) == 1
    failed, sent = fake.calls_of("create_message")
    assert failed.status == 429 and sent.ok and sent.at - failed.at >= 0.05  # discord.py waited, then retried
    assert sent.path == f"/channels/{thread}/messages"


async def test_updates_racing_for_one_incident_post_one_message(fake: FakeDiscord, make_core: MakeCore,
                                                                 make_bot: MakeBot) -> None:
    core = await make_core(channels=[ChannelConfig(platform="discord", id=DESK_CHANNEL, kinds={"margin": "on"})])
    bot = await make_bot(core)
    await asyncio.gather(*(core.notifier.publish(notice("margin", f"Level 1.2{i}", key="incident:7"))
                           for i in range(3)))
    assert len(fake.calls_of("create_message")) == 1 and len(fake.calls_of("edit_message")) == 2
    assert fake.channel_messages(DESK_CHANNEL)[0]["embeds"][0]["title"] == "⚠️ Level 1.22"
    assert not bot.transport._locks  # nothing left behind


async def test_a_keyed_message_that_was_deleted_is_sent_again(fake: FakeDiscord, make_core: MakeCore,
                                                              make_bot: MakeBot) -> None:
    core = await make_core(channels=[ChannelConfig(platform="discord", id=DESK_CHANNEL, kinds={"margin": "on"})])
    await make_bot(core)
    n = notice("margin", "Level 1.2", key="incident:x")
    await core.notifier.publish(n)
    fake.deleted.update(fake.messages)  # someone deleted it in the channel
    await core.notifier.publish(n)
    assert len(fake.calls_of("create_message")) == 2 and fake.calls_of("edit_message", ok=False)
