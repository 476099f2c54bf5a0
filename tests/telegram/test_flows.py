"""End to end through the real PTB Application polling the fake Bot API, with the real desk core."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from adapters.telegram import TelegramBot
from chatbot.config import MemberConfig, PolicyConfig
from chatbot.core import DeskCore
from tests.chat_desk import MakeCore
from tests.core.desk import borrowed
from tests.fakes.telegram import Call, FakeTelegram
from tests.telegram.desk import ALICE, BOB, CAROL, DAVE, MALLORY, MEMBERS, MakeBot


async def say(fake: FakeTelegram, user: int, text: str, *, replies: int = 1, **kw: Any) -> list[Call]:
    """Push a message and return the sendMessage calls it caused."""
    before = len(fake.calls_of("sendMessage"))
    fake.command(user, text, **kw)
    return (await fake.wait_for("sendMessage", before + replies))[before:]


async def press(fake: FakeTelegram, user: int, message: dict[str, Any], data: str) -> Call:
    """Press a button and return the answerCallbackQuery it caused."""
    before = len(fake.calls_of("answerCallbackQuery"))
    fake.press(user, message, data)
    return (await fake.wait_for("answerCallbackQuery", before + 1))[before]


def message_of(fake: FakeTelegram, call: Call) -> dict[str, Any]:
    return fake.messages[(call.params["chat_id"], call.result["message_id"])]


def tokens(call: Call) -> list[str]:
    return [b["callback_data"] for b in call.params["reply_markup"]["inline_keyboard"][0]]


async def test_status_from_a_trader(fake: FakeTelegram, core: DeskCore, bot: TelegramBot) -> None:
    (reply,) = await say(fake, CAROL, "/status")
    assert reply.ok and reply.params["chat_id"] == CAROL and reply.params["parse_mode"] == "HTML"
    assert reply.result["text"].startswith("✅ Status — cross margin")
    assert "<pre>Asset" in reply.params["text"]
    assert [c.method for c in fake.calls if c.method != "setMyCommands"] == [
        "getMe", "getWebhookInfo", "deleteWebhook", "getUpdates", "sendMessage"]


async def test_unknown_user_is_denied_and_audited(fake: FakeTelegram, core: DeskCore, bot: TelegramBot) -> None:
    (reply,) = await say(fake, MALLORY, "/status")
    assert "not a member of this desk" in reply.result["text"]
    assert core.audit.find("status") == []  # the command never ran: nothing was read from the exchange
    assert any(e.outcome == "denied" and e.actor == f"telegram:{MALLORY}" for e in core.audit.find("identify"))


async def test_in_groups_the_actor_is_the_sender_not_the_chat(fake: FakeTelegram, core: DeskCore,
                                                              bot: TelegramBot) -> None:
    group = -100777
    (ok,) = await say(fake, CAROL, "/status@desk_bot", chat_id=group, thread_id=42)
    assert ok.params["chat_id"] == group and ok.result["text"].startswith("✅ Status")
    assert ok.params["message_thread_id"] == 42  # answered in the forum topic it came from
    assert "reply_parameters" in ok.params  # quotes the command it answers
    (denied,) = await say(fake, MALLORY, "/status", chat_id=group)
    assert "not a member" in denied.result["text"]
    # Other bots' commands and commands we do not know are left alone in groups …
    fake.command(CAROL, "/status@other_bot", chat_id=group)
    fake.command(CAROL, "/weather", chat_id=group)
    # … and only this one is answered.
    (last,) = await say(fake, DAVE, "/help", chat_id=group)
    assert "Commands for dave (viewer)" in last.result["text"]
    assert len(fake.calls_of("sendMessage")) == 3


async def test_unknown_command_in_a_dm_gets_the_core_answer(fake: FakeTelegram, bot: TelegramBot) -> None:
    (reply,) = await say(fake, CAROL, "/weather")
    assert "Unknown command /weather" in reply.result["text"]


async def test_borrow_prompt_only_the_requester_can_confirm_and_it_runs_once(
        fake: FakeTelegram, core: DeskCore, bot: TelegramBot) -> None:
    (prompt,) = await say(fake, CAROL, "/borrow USDT 100")
    assert prompt.result["text"].startswith("⚠️ Confirm borrow 100 USDT (cross)?")
    confirm, cancel = tokens(prompt)
    assert confirm.startswith("cf:") and cancel.startswith("cx:") and len(confirm.encode()) <= 64
    msg = message_of(fake, prompt)

    # Another member (an admin, even) presses Confirm: an alert, the prompt untouched, nothing borrowed.
    answer = await press(fake, BOB, msg, confirm)
    assert answer.params["show_alert"] is True and "Not your prompt" in answer.params["text"]
    assert fake.calls_of("editMessageText") == [] and await borrowed(core) == 0
    assert core.pending.by_nonce(confirm[3:]).state == "awaiting_confirmation"  # type: ignore[union-attr]

    # The requester presses it: executed once, the prompt shows the outcome and loses its buttons.
    answer = await press(fake, CAROL, msg, confirm)
    assert answer.params.get("show_alert") is not True and answer.params["text"].startswith("Done [")
    (edit,) = await fake.wait_for("editMessageText")
    assert edit.params["message_id"] == msg["message_id"] and "reply_markup" not in edit.params
    assert edit.result["text"].startswith("⚠️ Confirm borrow 100 USDT (cross)?")  # the prompt's title kept
    assert "✅ Done [" in edit.result["text"] and "reply_markup" not in fake.messages[(CAROL, msg["message_id"])]
    assert await borrowed(core) == Decimal(100)
    assert (await core.exchange.account(None)).asset("USDT").free == Decimal(20100)

    # A second press (the stale button in another client): refused, still one borrow.
    answer = await press(fake, CAROL, msg, confirm)
    assert answer.params["show_alert"] is True and "already" in answer.params["text"]
    assert await borrowed(core) == Decimal(100) and len(fake.calls_of("editMessageText")) == 1


async def test_two_presses_delivered_together_execute_once(fake: FakeTelegram, core: DeskCore,
                                                           bot: TelegramBot) -> None:
    (prompt,) = await say(fake, CAROL, "/borrow USDT 50")
    msg, (confirm, _) = message_of(fake, prompt), tokens(prompt)
    fake.press(CAROL, msg, confirm)
    fake.press(CAROL, msg, confirm)
    answers = await fake.wait_for("answerCallbackQuery", 2)
    assert sorted(bool(a.params.get("show_alert")) for a in answers) == [False, True]
    assert await borrowed(core) == Decimal(50)


async def test_cancel_button_edits_the_prompt(fake: FakeTelegram, core: DeskCore, bot: TelegramBot) -> None:
    (prompt,) = await say(fake, CAROL, "/borrow USDT 50")
    _, cancel = tokens(prompt)
    await press(fake, CAROL, message_of(fake, prompt), cancel)
    (edit,) = await fake.wait_for("editMessageText")
    assert "Cancelled [" in edit.result["text"] and await borrowed(core) == 0


async def test_invalid_button_data_is_refused_with_an_alert(fake: FakeTelegram, core: DeskCore,
                                                           bot: TelegramBot) -> None:
    (prompt,) = await say(fake, CAROL, "/status")
    answer = await press(fake, CAROL, message_of(fake, prompt), "cf:not-a-real-nonce")
    assert answer.params["show_alert"] is True and "no longer valid" in answer.params["text"]
    answer = await press(fake, MALLORY, message_of(fake, prompt), "cf:whatever")
    assert answer.params["show_alert"] is True and "not a member" in answer.params["text"]


async def test_approval_goes_to_admins_by_dm_and_is_approved_there(fake: FakeTelegram, make_core: MakeCore,
                                                                   make_bot: MakeBot) -> None:
    core = await make_core(policy=PolicyConfig(approval_notional_usdt="10"))
    await make_bot(core)
    (prompt,) = await say(fake, CAROL, "/borrow USDT 100")
    assert "Needs admin approval" in prompt.result["text"]
    before = len(fake.calls_of("sendMessage"))
    await press(fake, CAROL, message_of(fake, prompt), tokens(prompt)[0])
    (edit,) = await fake.wait_for("editMessageText")
    assert "sent to the admins for approval" in edit.result["text"]

    dms = {c.params["chat_id"]: c for c in (await fake.wait_for("sendMessage", before + 2))[before:]}
    assert set(dms) == {ALICE, BOB}  # both admins; carol (the requester) is not asked
    approve, reject = tokens(dms[ALICE])
    assert approve.startswith("ap:") and reject.startswith("rj:")
    assert dms[ALICE].result["text"].startswith("⚠️ Approve borrow 100 USDT (cross)?")
    assert await borrowed(core) == 0

    # The requester cannot approve her own request, even holding the admin's button.
    answer = await press(fake, CAROL, message_of(fake, dms[ALICE]), approve)
    assert answer.params["show_alert"] is True and await borrowed(core) == 0

    before = len(fake.calls_of("sendMessage"))
    answer = await press(fake, ALICE, message_of(fake, dms[ALICE]), approve)
    assert answer.params.get("show_alert") is not True
    edits = await fake.wait_for("editMessageText", 2)
    assert edits[1].params["chat_id"] == ALICE and "Done [" in edits[1].result["text"]
    assert "reply_markup" not in edits[1].params
    (told,) = (await fake.wait_for("sendMessage", before + 1))[before:]
    assert told.params["chat_id"] == CAROL and "Approved by alice" in told.result["text"]
    assert await borrowed(core) == Decimal(100)

    # Bob's copy of the prompt is now stale: an alert, no second execution.
    answer = await press(fake, BOB, message_of(fake, dms[BOB]), tokens(dms[BOB])[0])
    assert answer.params["show_alert"] is True and await borrowed(core) == Decimal(100)


async def test_an_edited_long_is_refused_not_run(fake: FakeTelegram, core: DeskCore, bot: TelegramBot) -> None:
    before = len(fake.calls_of("sendMessage"))
    fake.edit(CAROL, "/long BTCUSDT 0.01")
    (reply,) = (await fake.wait_for("sendMessage", before + 1))[before:]
    assert "Edited messages never trigger actions" in reply.result["text"]
    assert "reply_markup" not in reply.params  # no prompt, no buttons
    assert core.pending.open_actions() == [] and await core.exchange.open_orders() == []
    account = await core.exchange.account(None)
    assert account.asset("BTC").total == 0 and account.asset("USDT").borrowed == 0  # nothing bought


async def test_a_command_sent_while_the_bot_was_away_is_ignored(fake: FakeTelegram, core: DeskCore,
                                                                 bot: TelegramBot) -> None:
    (reply,) = await say(fake, CAROL, "/borrow USDT 100", date=int(time.time()) - 120)  # message.date is used
    assert "old command" in reply.result["text"] and "reply_markup" not in reply.params
    assert core.pending.open_actions() == []


async def test_a_long_reply_is_split_into_marked_parts(fake: FakeTelegram, make_core: MakeCore,
                                                       make_bot: MakeBot) -> None:
    many = [*MEMBERS, *(MemberConfig(name=f"trader{i:03d}", role="trader", telegram_id=50_000 + i)
                        for i in range(160))]
    core = await make_core(members=many)
    await make_bot(core)
    fake.command(ALICE, "/members")
    # 165 rows do not fit in 4096 characters: parts, in order, each marked.
    parts = await fake.wait_for("sendMessage", 2)
    total = int(parts[0].result["text"].split("\n", 1)[0].strip("[]").split("/")[1])
    parts = await fake.wait_for("sendMessage", total)
    texts = [p.result["text"] for p in parts]
    assert total >= 2 and all(t.startswith(f"[{i}/{total}]\n") for i, t in enumerate(texts, 1))
    assert all(len(t) <= 4096 for t in texts) and all(p.params["chat_id"] == ALICE for p in parts)
    names = [line.split()[0].rstrip(":") for t in texts for line in t.split("\n")[1:] if line.startswith("trader")]
    assert names == [f"trader{i:03d}" for i in range(160)]
