"""`chatbot run` end to end: the real CLI in a subprocess, serving Telegram against the fake Bot API.

The fake runs in the test's event loop; the CLI process reaches it over 127.0.0.1. stdin is not a
terminal and a Telegram token is set, so `run` serves Telegram only (no console) and stops on
SIGTERM. This is what a deployment does; the other Telegram tests drive `TelegramBot` in-process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from tests.fakes.telegram import FakeTelegram

T = TypeVar("T")
TOKEN = "424242424:CLI-e2e-secret-token_must-never-be-printed"
ALICE, CAROL = 1001, 1003
DESK_TOML = """\
[[members]]
name = "alice"
role = "admin"
telegram_id = 1001

[[members]]
name = "carol"
role = "trader"
telegram_id = 1003

[paper]
clock = "manual"
price_feed = "static"
taker_fee = "0"
maker_fee = "0"

[paper.prices]
BTCUSDT = "35000"

[paper.cross]
USDT = "20000"
"""
DROPPED_ENV = ("CHATBOT_", "TELEGRAM_", "BINANCE_", "DISCORD_")


class Cli:
    """The `chatbot run` subprocess, its output drained as it comes (so a full pipe never blocks it)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.out: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
        self.readers = [asyncio.create_task(self._drain(name, stream))
                        for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr))]

    async def _drain(self, name: str, stream: asyncio.StreamReader | None) -> None:
        assert stream is not None
        while chunk := await stream.read(65536):
            self.out[name] += chunk

    def text(self) -> str:
        return "".join(f"--- {k}\n{v.decode(errors='replace')}" for k, v in self.out.items())

    async def until(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable`, failing fast (with the process output) if the CLI exits first."""
        waiting = asyncio.ensure_future(awaitable)
        exited = asyncio.ensure_future(self.proc.wait())
        await asyncio.wait([waiting, exited], return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():
            waiting.cancel()
            await asyncio.gather(*self.readers)
            raise AssertionError(f"chatbot run exited with {self.proc.returncode}\n{self.text()}")
        exited.cancel()
        try:
            return waiting.result()
        except TimeoutError:
            raise AssertionError(f"timed out waiting on the fake Bot API\n{self.text()}") from None


def cli_env(tmp_path: Path, fake: FakeTelegram) -> dict[str, str]:
    config = tmp_path / "desk.toml"
    config.write_text(DESK_TOML)
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_ENV)}
    env.update(CHATBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'desk.db'}", CHATBOT_CONFIG=str(config),
               CHATBOT_LOG_LEVEL="DEBUG",  # the most talkative logs: the token must not be in them either
               TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.base_url, PTB_TIMEDELTA="1")
    return env


def tokens(call: Any) -> list[str]:
    return [b["callback_data"] for b in call.params["reply_markup"]["inline_keyboard"][0]]


async def test_chatbot_run_serves_telegram_and_stops_on_sigterm(tmp_path: Path) -> None:
    async with FakeTelegram(TOKEN) as fake:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chatbot.cli", "run", cwd=tmp_path, env=cli_env(tmp_path, fake),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        cli = Cli(proc)
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

            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 5)
            await asyncio.gather(*cli.readers)
            assert code == 0, cli.text()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    output = cli.text()
    assert "Telegram bot @desk_bot is serving the desk" in output  # the logs were captured at all
    assert TOKEN not in output and TOKEN.split(":", 1)[1] not in output
