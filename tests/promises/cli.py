"""Running the real `chatbot` CLI in a subprocess for the promise tests: a clean environment, one desk TOML."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DESK_TOML = """\
[[members]]
name = "alice"
role = "admin"
telegram_id = 1001

[[members]]
name = "bob"
role = "admin"
telegram_id = 1002

[[members]]
name = "carol"
role = "trader"
telegram_id = 1003

[[members]]
name = "dave"
role = "viewer"
telegram_id = 1004

[policy]
stale_command_seconds = 30

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


def cli_env(tmp_path: Path, url: str | None = None, toml: str = DESK_TOML, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_ENV)}
    config = tmp_path / "desk.toml"
    if not config.exists():
        config.write_text(toml)
    env.update({"CHATBOT_DATABASE_URL": url or f"sqlite:///{tmp_path / 'desk.db'}", "CHATBOT_CONFIG": str(config),
                "CHATBOT_AUDIT_KEY_FILE": str(tmp_path / "audit.key"),
                "CHATBOT_AUDIT_ANCHOR_FILE": str(tmp_path / "anchors.jsonl"), **extra})
    return env


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
