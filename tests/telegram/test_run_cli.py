"""`chatbot run` end to end: the real CLI in a subprocess, serving Telegram against the fake Bot API.

The fake runs in the test's event loop; the CLI process reaches it over 127.0.0.1. stdin is not a
terminal and a Telegram token is set, so `run` serves Telegram only (no console) and stops on
SIGTERM. This is what a deployment does; the other Telegram tests drive `TelegramBot` in-process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.cli import PAPER_TOML, Cli, cli_env, member
from tests.fakes.telegram import FakeTelegram

TOKEN = "424242424:CLI-e2e-secret-token_must-never-be-printed"
ALICE, CAROL = 1001, 1003
DESK_TOML = "\n".join((member("alice", "admin", telegram_id=ALICE), member("carol", "trader", telegram_id=CAROL),
                       PAPER_TOML))


def run_env(tmp_path: Path, fake: FakeTelegram) -> dict[str, str]:
    return cli_env(tmp_path, toml=DESK_TOML,
                   CHATBOT_LOG_LEVEL="DEBUG",  # the most talkative logs: the token must not be in them either
                   TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.base_url, PTB_TIMEDELTA="1")


def tokens(call: Any) -> list[str]:
    return [b["callback_data"] for b in call.params["reply_markup"]["inline_keyboard"][0]]


async def test_chatbot_run_serves_telegram_and_stops_on_sigterm(tmp_path: Path) -> None:
    async with FakeTelegram(TOKEN) as fake:
        cli = await Cli.start(tmp_path, "run", env=run_env(tmp_path, fake))
        try:
            # Started: menus published (default scope + alice + carol), then a long poll is open.
            await cli.until(fake.wait_for("setMyCommands", 3, timeout=10))
            await cli.until(fake.wait_arrivals("getUpdates", timeout=5))
            assert {"borrow", "approve"} <= set(fake.scope_commands({"type": "chat", "chat_id": ALICE}) or [])

            fake.command(CAROL, "/status")
            (status,) = await cli.until(fake.wait_for("sendMessage"))
            assert status.ok and status.params["chat_id"] == CAROL
            assert status.result["text"].startswith("✅ Status — cross margin")
            assert "20,000" in status.result["text"]  # the paper account from the desk TOML

            fake.command(CAROL, "/borrow USDT 100")
            prompt = (await cli.until(fake.wait_for("sendMessage", 2)))[1]
            assert prompt.result["text"].startswith("⚠️ Confirm borrow 100 USDT (cross)?")
            confirm, _ = tokens(prompt)
            fake.press(CAROL, fake.messages[(CAROL, prompt.result["message_id"])], confirm)
            (edit,) = await cli.until(fake.wait_for("editMessageText"))
            assert edit.params["message_id"] == prompt.result["message_id"]
            assert "✅ Done [" in edit.result["text"] and "reply_markup" not in edit.params
            (answer,) = fake.calls_of("answerCallbackQuery")
            assert answer.params.get("show_alert") is not True

            code = await cli.terminate(5)
            assert code == 0, cli.text()
        finally:
            await cli.kill()
    output = cli.text()
    assert "Telegram bot @desk_bot is serving the desk" in output  # the logs were captured at all
    assert TOKEN not in output and TOKEN.split(":", 1)[1] not in output
