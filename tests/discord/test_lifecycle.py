"""`run_discord` and `DiscordBot` lifecycles, a clean stop with work in flight, and the token in logs."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import discord
import pytest
from discord.http import Route
from pydantic import SecretStr

from adapters.discord import DiscordBot, run_discord
from chatbot.config import Settings
from chatbot.core import DeskCore
from chatbot.replies import Notice, Reply, Severity
from tests.discord.desk import CAROL, new_bot
from tests.fakes.discord import FakeDiscord

SENTINEL_TOKEN = "MTk5OTk5OTk5OTk5OTk5OTk5.GsEnTl.SENTINEL-discord-token-must-never-be-logged_00"


def settings_for(fake: FakeDiscord, **kw: Any) -> Settings:
    return Settings(discord_bot_token=SecretStr(fake.token), discord_api_base_url=fake.api_base_url,
                    discord_gateway_url=fake.gateway_url, **kw)


async def test_run_discord_serves_until_stopped(fake: FakeDiscord, core: DeskCore) -> None:
    original = Route.BASE
    stop = asyncio.Event()
    task = asyncio.create_task(run_discord(core, settings_for(fake), stop))
    await fake.wait_connected()
    ix = await fake.slash(CAROL, "status")
    (reply,) = await fake.wait_replies(ix)
    assert "Status" in fake.text_of(reply) and "discord" in core.notifier.transports
    stop.set()
    await asyncio.wait_for(task, 5)
    assert "discord" not in core.notifier.transports and original == Route.BASE
    assert fake.connections == 0  # the gateway connection was closed


async def test_a_gateway_that_drops_the_bot_ends_the_run_with_an_error(fake: FakeDiscord, core: DeskCore) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run_discord(core, settings_for(fake), stop))
    await fake.wait_connected()
    await fake.wait_replies(await fake.slash(CAROL, "status"))  # serving
    assert "discord" in core.notifier.transports
    await fake.drop(4004)  # authentication failed: discord.py does not reconnect
    with pytest.raises(discord.ConnectionClosed):
        await asyncio.wait_for(task, 5)
    assert "discord" not in core.notifier.transports


async def test_a_wrong_token_fails_start_cleanly(fake: FakeDiscord, core: DeskCore) -> None:
    original = Route.BASE
    bot = DiscordBot(core, "MTExMQ.wrong.token-for-this-fake", api_base_url=fake.api_base_url,
                     gateway_url=fake.gateway_url)
    with pytest.raises(discord.LoginFailure):
        await bot.start()
    assert "discord" not in core.notifier.transports and bot.client.is_closed() and original == Route.BASE
    assert not fake.identifies  # it never reached the gateway


async def test_stop_lets_an_interaction_in_flight_finish(fake: FakeDiscord, core: DeskCore) -> None:
    account = core.exchange.account

    async def slow_account(isolated_symbol: str | None = None) -> Any:
        await asyncio.sleep(0.5)
        return await account(isolated_symbol)

    core.exchange.account = slow_account  # type: ignore[method-assign]
    bot = new_bot(core, fake)
    await bot.start()
    ix = await fake.slash(CAROL, "status")
    await fake.wait_until(lambda: ix.acknowledged)  # deferred; the core is reading the slow exchange
    await bot.stop()
    assert [c.route for c in ix.calls] == ["interaction_callback", "edit_response"] and ix.calls[-1].ok
    assert "Status" in fake.text_of(fake.replies(ix)[0])


async def test_the_bot_token_never_reaches_logs_or_messages(core: DeskCore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    segments = SENTINEL_TOKEN.split(".")
    async with FakeDiscord(SENTINEL_TOKEN) as fake, new_bot(core, fake):
        ix = await fake.slash(CAROL, "borrow", {"asset": "USDT", "amount": "100"})
        (prompt,) = await fake.wait_replies(ix)
        press = await fake.click(CAROL, prompt, FakeDiscord.buttons(prompt)[0]["custom_id"])
        await fake.wait_until(lambda: fake.replies(press))
        # Error texts that quote the token (a proxy echoing headers), whole or only a piece of it:
        fake.fail_next("create_message", 400, 50035, f"Invalid Form Body (Authorization: Bot {SENTINEL_TOKEN})")
        fake.fail_next("create_message", 400, 50035, f"bad signature {segments[2]} for {segments[0]}")
        fake.fail_next("edit_response", 400, 50035, f"token {segments[2]} rejected")
        for name in ("alice", "bob"):
            await core.notifier.publish(Notice("approvals", Reply(title="Approve?", severity=Severity.WARNING),
                                               to_members=(name,), to_channels=False))
        status = await fake.slash(CAROL, "status")
        await fake.wait_until(lambda: any(not c.ok for c in status.calls))
    assert "bad signature" in caplog.text and "rejected" in caplog.text  # the leaky errors were logged …
    assert "/callback has returned" in caplog.text  # … and so were discord.py's webhook URLs, at DEBUG
    for ix in fake.interactions.values():  # interaction tokens are credentials too (15 minutes)
        assert ix.token not in caplog.text
    for secret in (SENTINEL_TOKEN, *segments):  # … with every piece of the token masked
        assert secret not in caplog.text
        assert all(secret not in r.getMessage() for r in caplog.records)
        assert all(secret not in json.dumps(c.body) and secret not in json.dumps(c.result) for c in fake.calls
                   if c.ok)  # nothing the bot sent carries it
