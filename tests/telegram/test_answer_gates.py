"""Promise: an answer acts only when it comes fresh from its sender — typed or pressed, like any command.

An edited, a two-minute-old (a backlog after downtime) or a forwarded `/confirm` executes nothing;
an edited `/approve`, `/halt` or `/grant` does nothing; a Confirm pressed while the bot was away
(queued at Telegram when it starts) executes nothing, and pressing it again does. Through the real
PTB Application and the fake Bot API.
"""

from __future__ import annotations

import re
import time

import aiohttp
import pytest

from adapters.telegram import WebhookConfig
from chatbot.config import PolicyConfig
from chatbot.core import DeskCore
from tests.chat_desk import MakeCore
from tests.core.desk import borrowed
from tests.fakes.telegram import FakeTelegram
from tests.telegram.desk import ALICE, BOB, CAROL, MakeBot, new_bot
from tests.telegram.test_flows import message_of, press, say, tokens

FIRST_WORD = r"\[([0-9a-f]{6})\]"


def prompt_id(text: str) -> str:
    match = re.search(FIRST_WORD, text)
    assert match, text
    return match.group(1)


@pytest.mark.parametrize("how", ["edited", "stale", "forwarded"])
async def test_a_confirm_that_is_not_fresh_executes_nothing(fake: FakeTelegram, make_core: MakeCore,
                                                             make_bot: MakeBot, how: str) -> None:
    core = await make_core()
    await make_bot(core)
    (prompt,) = await say(fake, CAROL, "/borrow USDT 1000")
    pid = prompt_id(prompt.result["text"])
    before = len(fake.calls_of("sendMessage"))
    if how == "edited":
        fake.edit(CAROL, f"/confirm {pid}")
    elif how == "stale":
        fake.command(CAROL, f"/confirm {pid}", date=int(time.time()) - 120)
    else:
        fake.forward(CAROL, f"/confirm {pid}", original_sender=CAROL)
    (reply,) = (await fake.wait_for("sendMessage", before + 1))[before:]
    assert {"edited": "Edited messages", "stale": "old command", "forwarded": "Forwarded messages"}[how] \
        in reply.result["text"]
    assert await borrowed(core) == 0
    assert [p.short_id for p in core.pending.open_actions()] == [pid]  # still waiting for a real answer
    (ok,) = await say(fake, CAROL, f"/confirm {pid}")
    assert "Done" in ok.result["text"] and await borrowed(core) == 1000


async def test_an_edited_approve_halt_or_grant_does_nothing(fake: FakeTelegram, make_core: MakeCore,
                                                           make_bot: MakeBot) -> None:
    core: DeskCore = await make_core(policy=PolicyConfig(approval_notional_usdt=500))
    await make_bot(core)
    await say(fake, CAROL, "/borrow USDT 1000")
    sent = await say(fake, CAROL, "/confirm", replies=3)  # the DMs to alice and bob, the answer to carol
    assert any("sent to the admins" in s.result["text"] for s in sent)
    before = len(fake.calls_of("sendMessage"))
    fake.edit(BOB, "/approve")
    fake.edit(ALICE, "/halt edited")
    fake.edit(ALICE, "/grant frank admin telegram:4242")
    replies = (await fake.wait_for("sendMessage", before + 3))[before:]
    assert all("Edited messages" in r.result["text"] for r in replies)
    assert await borrowed(core) == 0 and not core.halted()
    assert core.members.get("frank") is None and core.pending.awaiting_approval()[0].command == "borrow"
    assert {e.outcome for e in core.audit.find("approve") + core.audit.find("halt") + core.audit.find("grant")} \
        == {"ignored"}


@pytest.mark.parametrize("peek", ["shown", "refused"])
async def test_a_press_queued_while_the_bot_was_away_executes_nothing(fake: FakeTelegram, make_core: MakeCore,
                                                                      make_bot: MakeBot, peek: str) -> None:
    """At start-up the bot looks at what waits (getUpdates, confirming nothing); when Telegram refuses
    that look, the count of waiting updates starts at the first one handled."""
    core = await make_core()
    async with new_bot(core, fake):
        (prompt,) = await say(fake, CAROL, "/borrow USDT 1000")
    msg, (confirm, _) = message_of(fake, prompt), tokens(prompt)
    fake.press(CAROL, msg, confirm)  # the bot is down: Telegram keeps the press for it
    if peek == "refused":
        fake.fail_next("getUpdates", 409, "Conflict: terminated by other getUpdates request")
    await make_bot(core)
    (queued,) = await fake.wait_for("answerCallbackQuery")
    assert queued.params["show_alert"] is True and "while the bot was away" in queued.params["text"]
    assert await borrowed(core) == 0 and fake.calls_of("editMessageText") == []
    assert [p.short_id for p in core.pending.open_actions()] == [prompt_id(prompt.result["text"])]
    assert [e.outcome for e in core.audit.find("confirm")] == ["ignored"]

    fresh = await press(fake, CAROL, msg, confirm)  # pressed again, now that the bot is back
    assert fresh.params["text"].startswith("Done [") and await borrowed(core) == 1000


async def test_in_webhook_mode_a_press_waiting_at_start_up_executes_nothing(fake: FakeTelegram,
                                                                            make_core: MakeCore) -> None:
    core = await make_core()
    async with new_bot(core, fake):
        (prompt,) = await say(fake, CAROL, "/borrow USDT 1000")
    msg, (confirm, _) = message_of(fake, prompt), tokens(prompt)
    waiting_id = fake.press(CAROL, msg, confirm)  # the bot is down: Telegram keeps the press for it
    (waiting,) = [u for u in fake.updates if u["update_id"] == waiting_id]
    fresh = {"update_id": waiting["update_id"] + 1, "callback_query": {**waiting["callback_query"], "id": "fresh"}}
    cfg = WebhookConfig(url="https://desk.example/telegram", port=0)
    async with new_bot(core, fake, webhook=cfg) as bot, aiohttp.ClientSession() as http:
        for n, update in enumerate((waiting, fresh), 1):  # Telegram delivers what waited, then the new press
            async with http.post(f"http://127.0.0.1:{bot.webhook_port}{cfg.path}", json=update,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": cfg.secret_token}) as resp:
                assert resp.status == 200
            await fake.wait_for("answerCallbackQuery", n)
    queued, pressed = fake.calls_of("answerCallbackQuery")
    assert queued.params["show_alert"] is True and "while the bot was away" in queued.params["text"]
    assert pressed.params["text"].startswith("Done [") and await borrowed(core) == 1000
