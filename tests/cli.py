"""Running the real `chatbot` CLI in a subprocess, as a deployment does: a clean environment, a desk TOML.

Why it exists: the promise tests, `chatbot run` on Telegram and Discord, the Binance console and the
config checks all start the real CLI; the environment they start it in, the desk file they give it
and the way a long-running `chatbot run` is watched are written here once.
- `cli_env` leaves out every CHATBOT_/TELEGRAM_/BINANCE_/DISCORD_ variable of the calling process,
  then points the CLI at a desk in `tmp_path` (SQLite unless a URL is given, `DESK_TOML` unless a
  TOML is given, the audit key and anchors beside it);
- `member` and `PAPER_TOML` build desk files; `DESK_TOML` is the promise tests' desk;
- `chatbot` runs one command to the end; `Cli.start` starts one (`chatbot run`) and drains its output,
  `Cli.terminate` stops it as a deployment does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Self, TypeVar

T = TypeVar("T")
DROPPED_ENV = ("CHATBOT_", "TELEGRAM_", "BINANCE_", "DISCORD_")


def member(name: str, role: str, *, telegram_id: int | None = None, discord_id: int | None = None) -> str:
    """One `[[members]]` table of a desk TOML."""
    ids = {"telegram_id": telegram_id, "discord_id": discord_id}
    return f'[[members]]\nname = "{name}"\nrole = "{role}"\n' + "".join(
        f"{key} = {value}\n" for key, value in ids.items() if value is not None)


PAPER_TOML = """\
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
DESK_TOML = "\n".join((
    member("alice", "admin", telegram_id=1001),
    member("bob", "admin", telegram_id=1002),
    member("carol", "trader", telegram_id=1003),
    member("dave", "viewer", telegram_id=1004),
    "[policy]\nstale_command_seconds = 30\n",
    PAPER_TOML,
))


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the desk's own settings (it must not leak into the CLI), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_ENV)}
    env.update(extra)
    return env


def cli_env(tmp_path: Path, url: str | None = None, toml: str = DESK_TOML, **extra: str) -> dict[str, str]:
    config = tmp_path / "desk.toml"
    if not config.exists():
        config.write_text(toml)
    return clean_env(**{"CHATBOT_DATABASE_URL": url or f"sqlite:///{tmp_path / 'desk.db'}",
                        "CHATBOT_CONFIG": str(config), "CHATBOT_AUDIT_KEY_FILE": str(tmp_path / "audit.key"),
                        "CHATBOT_AUDIT_ANCHOR_FILE": str(tmp_path / "anchors.jsonl"), **extra})


def chatbot(tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`chatbot ARGS` in `tmp_path`, stdin from `stdin` (a console script), output captured."""
    return subprocess.run([sys.executable, "-m", "chatbot.cli", *args], cwd=tmp_path, env=env or cli_env(tmp_path),
                          input=stdin, capture_output=True, text=True, timeout=timeout)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a refused start (and proof there was no traceback)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


class Cli:
    """A `chatbot` subprocess, its output drained as it comes (so a full pipe never blocks it)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.out: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
        self.readers = [asyncio.create_task(self._drain(name, stream))
                        for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr))]

    @classmethod
    async def start(cls, tmp_path: Path, *args: str, env: dict[str, str]) -> Self:
        """`chatbot ARGS` in `tmp_path`, stdin not a terminal (so `run` serves the chat adapters only)."""
        return cls(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chatbot.cli", *args, cwd=tmp_path, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE))

    async def terminate(self, timeout: float) -> int:
        """SIGTERM (how a deployment stops `chatbot run`); its exit code once it and its output are done."""
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await asyncio.gather(*self.readers)
        return code

    async def kill(self) -> None:
        """Kill the process if it still runs (for a test's `finally`)."""
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

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
