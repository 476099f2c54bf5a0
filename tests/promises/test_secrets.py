"""Promise: secrets never appear — not the database password, not a token, not a secret someone types.

Through the real CLI: `chatbot config check` and DEBUG logs never show the PostgreSQL password (PostgreSQL
here trusts local connections, so any password works and a sentinel can be used); a configured secret
typed into `/halt` is neither echoed to chat nor stored, in the halt state or the audit log.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli import chatbot, cli_env

SENTINEL_PASSWORD = "SENTINEL-pw/with:odd@chars"
SECRET = "SENTINELsecretVALUE99"


def with_password(postgres_url: str) -> str:
    from urllib.parse import quote

    return postgres_url.replace("postgres@", f"postgres:{quote(SENTINEL_PASSWORD, safe='')}@", 1)


@pytest.mark.postgres
def test_config_check_and_debug_logs_never_show_the_database_password(tmp_path: Path, postgres_url: str) -> None:
    url = with_password(postgres_url)
    env = cli_env(tmp_path, url, CHATBOT_LOG_LEVEL="DEBUG")
    check = chatbot(tmp_path, "config", "check", env=env)
    assert check.returncode == 0 and "Database: reachable" in check.stdout, check.stderr
    assert "postgres:***@" in check.stdout
    session = chatbot(tmp_path, "console", "--as", "carol", stdin="/borrow USDT 10\n/confirm\n/status\n", env=env)
    assert session.returncode == 0 and "Done [" in session.stdout, session.stderr
    assert "DEBUG" in session.stderr  # DEBUG logging really was on
    encoded = with_password("postgres@").removesuffix("@").split(":", 1)[1]
    for text in (check.stdout, check.stderr, session.stdout, session.stderr):
        assert SENTINEL_PASSWORD not in text and encoded not in text


def test_a_secret_typed_into_halt_is_neither_echoed_nor_stored(tmp_path: Path) -> None:
    env = cli_env(tmp_path, BINANCE_API_SECRET=SECRET, TELEGRAM_BOT_TOKEN="")
    out = chatbot(tmp_path, "console", "--as", "alice", stdin=f"/halt oops I pasted {SECRET} here\n/status\n", env=env)
    assert out.returncode == 0, out.stderr
    assert "HALTED by alice: oops I pasted *** here" in out.stdout
    assert SECRET not in out.stdout + out.stderr
    dump = "\n".join(sqlite3.connect(tmp_path / "desk.db").iterdump())
    assert "oops I pasted *** here" in dump and SECRET not in dump
