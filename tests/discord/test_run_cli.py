"""`chatbot run` serving Telegram and Discord at once: the real CLI in a subprocess, both fakes in the test.

Both tokens are set and stdin is not a terminal, so `run` serves the two chat adapters (no console)
from one desk: a command on each platform, one margin alert delivered to an alert channel on each,
then SIGTERM stops everything with exit code 0. Neither token may appear in the process output.
"""

from __future__ import annotations

from pathlib import Path

from tests.cli import PAPER_TOML, Cli, cli_env, member
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord_wire import DESK_CHANNEL
from tests.fakes.telegram import FakeTelegram

TELEGRAM_TOKEN = "424242424:CLI-both-secret-telegram-token_never-printed"
DISCORD_TOKEN = "MTQyNDI0MjQyNDI0MjQyNDI0.GcLiBo.CLI-both-secret-discord-token_never-printed"
TG_ALERTS = -100555
TG_CAROL, DC_ALICE, DC_CAROL = 1003, 2001, 2003
DESK_TOML = "\n".join((
    member("alice", "admin", telegram_id=1001, discord_id=DC_ALICE),
    member("carol", "trader", telegram_id=TG_CAROL, discord_id=DC_CAROL),
    f'[[channels]]\nplatform = "telegram"\nid = "{TG_ALERTS}"\nkinds = {{ margin = "on" }}\n',
    f'[[channels]]\nplatform = "discord"\nid = "{DESK_CHANNEL}"\nkinds = {{ margin = "on" }}\n',
    PAPER_TOML,
))


def run_env(tmp_path: Path, tg: FakeTelegram, dc: FakeDiscord) -> dict[str, str]:
    return cli_env(tmp_path, toml=DESK_TOML,
                   CHATBOT_LOG_LEVEL="DEBUG",  # the most talkative logs: no token in them either
                   TELEGRAM_BOT_TOKEN=tg.token, TELEGRAM_API_BASE_URL=tg.base_url, PTB_TIMEDELTA="1",
                   DISCORD_BOT_TOKEN=dc.token, DISCORD_API_BASE_URL=dc.api_base_url, DISCORD_GATEWAY_URL=dc.gateway_url)


async def test_chatbot_run_serves_telegram_and_discord_together(tmp_path: Path) -> None:
    async with FakeTelegram(TELEGRAM_TOKEN) as tg, FakeDiscord(DISCORD_TOKEN) as dc:
        cli = await Cli.start(tmp_path, "run", env=run_env(tmp_path, tg, dc))
        try:
            # Both started: Telegram polls, Discord synced its commands and is on the gateway.
            await cli.until(tg.wait_arrivals("getUpdates", timeout=15))
            await cli.until(dc.wait_for("sync_commands", timeout=15))
            await cli.until(dc.wait_connected(timeout=15))

            # A command on Telegram: carol borrows 1 BTC, confirmed with the button.
            tg.command(TG_CAROL, "/borrow BTC 1")
            (prompt,) = await cli.until(tg.wait_for("sendMessage"))
            confirm = prompt.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            tg.press(TG_CAROL, tg.messages[(TG_CAROL, prompt.result["message_id"])], confirm)
            (done,) = await cli.until(tg.wait_for("editMessageText"))
            assert "✅ Done [" in done.result["text"]

            # A command on Discord sees the same desk: the BTC loan is there.
            status = await dc.slash(DC_CAROL, "status")
            (reply,) = await cli.until(dc.wait_replies(status))
            assert "Status" in dc.text_of(reply) and "BTC" in reply["embeds"][-1]["description"]

            # A drill on Discord moves the market; the margin alert reaches both alert channels.
            await dc.slash(DC_ALICE, "price", {"symbol": "BTCUSDT", "price": "45000"})
            (dc_alert,) = await cli.until(dc.wait_for("create_message"))
            assert dc_alert.path == f"/channels/{DESK_CHANNEL}/messages"
            assert "LOW MARGIN" in dc_alert.result["embeds"][0]["title"]
            tg_alerts = await cli.until(tg.wait_for("sendMessage", 2))
            assert tg_alerts[1].params["chat_id"] == TG_ALERTS and "LOW MARGIN" in tg_alerts[1].result["text"]

            code = await cli.terminate(10)
            assert code == 0, cli.text()
            assert dc.connections == 0
        finally:
            await cli.kill()
    output = cli.text()
    assert "Discord bot desk" in output and "Telegram bot @desk_bot" in output  # the logs were captured at all
    for secret in (TELEGRAM_TOKEN, TELEGRAM_TOKEN.split(":", 1)[1], DISCORD_TOKEN, *DISCORD_TOKEN.split(".")):
        assert secret not in output
