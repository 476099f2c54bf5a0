"""Command menus per role, the `run_telegram` lifecycle, the webhook secret check, and the token in logs."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from pydantic import SecretStr
from telegram.error import InvalidToken

from adapters.telegram import TelegramBot, WebhookConfig, run_telegram
from chatbot.commands.registry import REGISTRY, visible_to
from chatbot.config import Settings
from chatbot.core import DeskCore
from tests.chat_desk import MakeCore
from tests.fakes.telegram import FakeTelegram
from tests.telegram.desk import ALICE, BOB, CAROL, DAVE, MakeBot, new_bot

SENTINEL_TOKEN = "987654321:SENTINEL-bot-token-must-never-be-logged"


def chat_scope(chat_id: int) -> dict[str, object]:
    return {"type": "chat", "chat_id": chat_id}


async def test_command_menus_follow_roles(fake: FakeTelegram, core: DeskCore, bot: TelegramBot) -> None:
    viewer = fake.scope_commands()  # the default scope: what anyone sees
    assert viewer == [s.name for s in visible_to("viewer", platform="telegram", paper=False)]
    assert "status" in viewer and "borrow" not in viewer and "approve" not in viewer and "as" not in viewer
    assert fake.scope_commands(chat_scope(DAVE)) == viewer
    trader = fake.scope_commands(chat_scope(CAROL))
    assert trader is not None and {"borrow", "repay", "long", "short", "close"} <= set(trader)
    assert "approve" not in trader and "halt" not in trader
    admin = fake.scope_commands(chat_scope(ALICE))
    assert admin is not None and {"approve", "reject", "halt", "resume", "grant"} <= set(admin)
    assert fake.scope_commands(chat_scope(BOB)) == admin
    # Console-only commands never; paper drills only on a paper desk (this one is not); /price quotes for all.
    assert "as" not in admin and "clock" not in admin and "price" in admin
    assert set(admin) | {"as", "clock"} == set(REGISTRY)
    assert len(fake.calls_of("setMyCommands")) == 5  # default + 4 members with a Telegram id


async def test_paper_desks_show_drills_to_admins(fake: FakeTelegram, make_core: MakeCore, make_bot: MakeBot) -> None:
    core = await make_core(paper=True)
    await make_bot(core)
    assert {"price", "clock"} <= set(fake.scope_commands(chat_scope(ALICE)) or [])
    assert "clock" not in (fake.scope_commands(chat_scope(CAROL)) or [])
    assert "price" in (fake.scope_commands(chat_scope(CAROL)) or [])  # quotes; moving it stays the admins' drill


async def test_menus_follow_grant_and_revoke(fake: FakeTelegram, core: DeskCore, bot: TelegramBot) -> None:
    fake.command(ALICE, "/grant frank trader telegram:7007")
    await fake.wait_for("sendMessage", 2)  # alice's answer and bob's approval request (members act in parallel)
    fake.command(BOB, "/approve")  # a new member needs a second admin
    await fake.wait_for("setMyCommands", 5 + 6)  # at start: default + 4 members; now default + 5
    assert "borrow" in (fake.scope_commands(chat_scope(7007)) or [])
    fake.command(ALICE, "/revoke frank")
    await fake.wait_for("deleteMyCommands")
    assert fake.scope_commands(chat_scope(7007)) is None


async def test_run_telegram_serves_until_stopped(fake: FakeTelegram, core: DeskCore) -> None:
    settings = Settings(telegram_bot_token=SecretStr(fake.token), telegram_api_base_url=fake.base_url)
    stop = asyncio.Event()
    task = asyncio.create_task(run_telegram(core, settings, stop))
    await fake.wait_arrivals("getUpdates")  # a long poll is open: started
    assert "telegram" in core.notifier.transports
    fake.command(CAROL, "/status")
    (reply,) = await fake.wait_for("sendMessage")
    assert reply.ok
    stop.set()
    await asyncio.wait_for(task, 5)
    assert "telegram" not in core.notifier.transports


async def test_webhook_checks_the_secret_before_parsing(fake: FakeTelegram, core: DeskCore) -> None:
    cfg = WebhookConfig(url="https://desk.example/telegram", port=0, secret_token="s3cret_-token")
    async with new_bot(core, fake, webhook=cfg) as bot:
        (hook,) = fake.calls_of("setWebhook")
        assert hook.params["url"] == cfg.url and hook.params["secret_token"] == cfg.secret_token
        assert fake.calls_of("getUpdates") == []  # no polling in webhook mode
        url = f"http://127.0.0.1:{bot.webhook_port}{cfg.path}"
        update = {"update_id": 555, "message": fake.message(CAROL, "/status")}
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                            {"X-Telegram-Bot-Api-Secret-Token": cfg.secret_token + "x"}):
                async with http.post(url, json=update, headers=headers) as resp:
                    assert resp.status == 403
                async with http.post(url, data=b"{not json", headers=headers) as resp:
                    assert resp.status == 403  # refused before the body is parsed
            async with http.post(url, data=b"{not json", headers={
                    "X-Telegram-Bot-Api-Secret-Token": cfg.secret_token}) as resp:
                assert resp.status == 400
            later = {"update_id": 556, "message": fake.message(DAVE, "/help")}
            for body in (update, update, later):  # Telegram redelivers when it did not get a 200 in time
                async with http.post(url, json=body, headers={
                        "X-Telegram-Bot-Api-Secret-Token": cfg.secret_token}) as resp:
                    assert resp.status == 200
        await fake.wait_for("sendMessage", 2)  # two members' updates run in parallel: match replies by chat
        reply, help_reply = sorted(fake.calls_of("sendMessage"), key=lambda c: c.params["chat_id"] != CAROL)
        assert reply.result["text"].startswith("✅ Status") and help_reply.params["chat_id"] == DAVE
        assert [e.actor for e in core.audit.find("status")] == [f"telegram:{CAROL}"]  # handled once, answered once


async def test_the_bot_token_never_reaches_the_logs(core: DeskCore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeTelegram(SENTINEL_TOKEN) as fake:
        bot = new_bot(core, fake)
        assert logging.getLogger("httpx").level == logging.WARNING  # request URLs are not logged …
        logging.getLogger("httpx").setLevel(logging.DEBUG)  # … and even if someone turns them on:
        try:
            async with bot:
                fake.command(CAROL, "/status")
                await fake.wait_for("sendMessage")
                fake.fail_next("sendMessage", 400, "Bad Request: chat not found")
                fake.command(CAROL, "/status")
                await fake.wait_for("sendMessage", 2)
        finally:
            logging.getLogger("httpx").setLevel(logging.WARNING)
    assert "HTTP Request: POST" in caplog.text  # the URL-carrying lines were logged, and redacted
    secret = SENTINEL_TOKEN.split(":", 1)[1]
    assert secret not in caplog.text and SENTINEL_TOKEN not in caplog.text
    assert all(secret not in r.getMessage() for r in caplog.records)


async def test_a_wrong_token_fails_start_cleanly(fake: FakeTelegram, core: DeskCore) -> None:
    bot = TelegramBot(core, "111111:wrong-token-for-this-fake-api", base_url=fake.base_url)
    with pytest.raises(InvalidToken):
        await bot.start()
    assert "telegram" not in core.notifier.transports and not bot.app.running
