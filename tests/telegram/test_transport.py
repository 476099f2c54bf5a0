"""The notifier transport and Telegram's error paths: flood limits (RetryAfter), blocked users (Forbidden)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.telegram import TelegramBot
from chatbot.config import ChannelConfig
from chatbot.core import DeskCore
from chatbot.replies import Action, Notice, Reply, Severity
from tests.chat_desk import MakeCore
from tests.fakes.telegram import FakeTelegram
from tests.telegram.desk import ALICE, BOB, CAROL, MakeBot

FLOOD = {"retry_after": 0.05}  # Telegram sends whole seconds; a fraction keeps the tests fast, same code path


def notice(kind: str, title: str, **kw: object) -> Notice:
    return Notice(kind, Reply(title=title, severity=Severity.WARNING), **kw)  # type: ignore[arg-type]


async def test_dms_go_to_members_with_a_telegram_id(fake: FakeTelegram, core: DeskCore, bot: TelegramBot) -> None:
    assert core.notifier.transports["telegram"] is bot.transport
    delivered = await core.notifier.publish(notice("approvals", "Hello admins", to_members=("alice", "erin"),
                                                   to_channels=False))
    assert delivered == 1  # erin has no Telegram id
    (dm,) = fake.calls_of("sendMessage")
    assert dm.params["chat_id"] == ALICE and dm.result["text"] == "⚠️ Hello admins"


async def test_channels_topics_silent_mode_and_incidents_edited_in_place(fake: FakeTelegram, make_core: MakeCore,
                                                                         make_bot: MakeBot) -> None:
    channels = [ChannelConfig(platform="telegram", id="-100555", topic_id=7, kinds={"margin": "silent"}),
                ChannelConfig(platform="telegram", id="-100666", kinds={"margin": "on", "interest": "off"})]
    core = await make_core(channels=channels)
    bot = await make_bot(core)
    first = Notice("margin", Reply(title="Margin call: level 1.28", severity=Severity.ERROR,
                                   actions=(Action("Acknowledge", "ack:1", "/ack 1"),)),
                   key="incident:cross:MARGIN_CALL")
    assert await core.notifier.publish(first) == 2
    sent = {c.params["chat_id"]: c for c in fake.calls_of("sendMessage")}
    assert set(sent) == {-100555, -100666}
    assert sent[-100555].params["disable_notification"] is True and sent[-100555].params["message_thread_id"] == 7
    assert sent[-100666].params["disable_notification"] is False and "message_thread_id" not in sent[-100666].params
    assert sent[-100555].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ack:1"

    update = Notice("margin", Reply(title="Margin call: level 1.21 (worse)", severity=Severity.ERROR),
                    key="incident:cross:MARGIN_CALL")
    assert await core.notifier.publish(update) == 2
    edits = {c.params["chat_id"]: c for c in fake.calls_of("editMessageText")}
    assert {k: e.params["message_id"] for k, e in edits.items()} == {
        k: s.result["message_id"] for k, s in sent.items()}
    assert len(fake.calls_of("sendMessage")) == 2
    assert all("1.21" in e.result["text"] and "reply_markup" not in e.params for e in edits.values())

    assert await core.notifier.publish(update) == 2  # unchanged: Telegram's "not modified" is fine
    assert await core.notifier.publish(notice("interest", "Daily interest")) == 0  # "off" everywhere
    assert bot.transport.sent  # key+chat → message id


async def test_an_incident_whose_message_is_gone_is_sent_again(fake: FakeTelegram, core: DeskCore,
                                                               bot: TelegramBot) -> None:
    n = notice("margin", "Level 1.2", key="incident:x", to_members=("alice",), to_channels=False)
    await core.notifier.publish(n)
    fake.messages.clear()  # deleted in the chat
    await core.notifier.publish(n)
    assert len(fake.calls_of("sendMessage")) == 2 and fake.calls_of("editMessageText", ok=False)


async def test_a_member_who_blocked_the_bot_is_logged_not_fatal(fake: FakeTelegram, core: DeskCore,
                                                                bot: TelegramBot,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with caplog.at_level(logging.WARNING):
        delivered = await core.notifier.publish(notice("approvals", "Approve?", to_members=("alice", "bob"),
                                                       to_channels=False))
    assert delivered == 1
    assert [c.params["chat_id"] for c in fake.calls_of("sendMessage", ok=True)] == [BOB]
    assert "bot was blocked by the user" in caplog.text and "Traceback" not in caplog.text


async def test_forbidden_on_a_command_reply_is_logged_and_the_bot_keeps_going(
        fake: FakeTelegram, bot: TelegramBot, caplog: pytest.LogCaptureFixture) -> None:
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with caplog.at_level(logging.WARNING):
        fake.command(CAROL, "/status")
        await fake.wait_for("sendMessage")
        fake.command(CAROL, "/status")
        (_, ok) = await fake.wait_for("sendMessage", 2)
    assert ok.ok and "bot was blocked by the user" in caplog.text


async def test_retry_after_on_a_reply_is_retried_by_the_rate_limiter(fake: FakeTelegram, bot: TelegramBot) -> None:
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", {"retry_after": 1})
    fake.command(CAROL, "/status")
    failed, ok = await fake.wait_for("sendMessage", 2)
    assert failed.error == 429 and ok.ok and ok.at - failed.at >= 1.0  # waited as told
    assert ok.result["text"].startswith("✅ Status")


def dm(core: DeskCore, kind: str, title: str) -> asyncio.Future[int]:
    """Publish a notice to alice by DM, in the background (it goes through the Telegram outbox)."""
    return asyncio.ensure_future(core.notifier.publish(notice(kind, title, to_members=("alice",),
                                                              to_channels=False)))


async def test_margin_alerts_jump_the_queue_while_flood_limited(fake: FakeTelegram, core: DeskCore,
                                                                bot: TelegramBot) -> None:
    fake.fail_next("sendMessage", 429, "Too Many Requests", FLOOD)
    fake.hold("sendMessage")
    first = dm(core, "system", "system notice")
    await fake.wait_arrivals("sendMessage", 1)  # in flight, about to be told to wait
    later = [dm(core, "interest", "interest summary"), dm(core, "approvals", "approval"),
             dm(core, "margin", "MARGIN CALL")]
    await asyncio.sleep(0.01)  # all three are queued behind the one in flight
    fake.release("sendMessage")
    assert await asyncio.gather(first, *later) == [1, 1, 1, 1]
    order = [c.result["text"].split(" ", 1)[1] for c in fake.calls_of("sendMessage", ok=True)]
    assert order == ["system notice", "MARGIN CALL", "approval", "interest summary"]
    assert len(fake.calls_of("sendMessage", ok=False)) == 1


async def test_flood_outlasting_the_limiter_is_requeued_behind_more_urgent_notices(
        fake: FakeTelegram, core: DeskCore, bot: TelegramBot) -> None:
    fake.fail_next("sendMessage", 429, "Too Many Requests", FLOOD, times=3)  # the limiter retries 2 times
    fake.hold("sendMessage")
    summary = dm(core, "interest", "interest summary")
    await fake.wait_arrivals("sendMessage", 1)
    alert = dm(core, "margin", "MARGIN CALL")
    await asyncio.sleep(0.01)
    fake.release("sendMessage")
    assert await asyncio.gather(summary, alert) == [1, 1]
    order = [c.result["text"].split(" ", 1)[1] for c in fake.calls_of("sendMessage", ok=True)]
    assert order == ["MARGIN CALL", "interest summary"]


async def test_closed_outbox_reports_not_delivered(fake: FakeTelegram, core: DeskCore, bot: TelegramBot) -> None:
    outbox = core.notifier.outboxes["telegram"]
    await outbox.close()

    async def send() -> bool:
        raise AssertionError("nothing is sent after close")

    assert await outbox.submit("margin", send) is False
