"""The `chatbot` console script on CHATBOT_EXCHANGE=binance, in a subprocess, against the fake Binance.

The fake runs in the test's event loop; the CLI reaches it over 127.0.0.1 via BINANCE_API_BASE_URL.
Logs are at DEBUG (the most talkative) and must still not contain the key or the secret.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli import cli_env, member
from tests.fakes.binance import API_KEY, API_SECRET, FakeBinance

DESK_TOML = "\n".join((member("alice", "admin", telegram_id=1001), member("carol", "trader", telegram_id=1003)))


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    """On the real clock: the CLI runs with the default clock tolerance (0.5 s)."""
    async with FakeBinance(start=datetime.now(UTC)) as server:
        yield server


def binance_env(tmp_path: Path, fake: FakeBinance) -> dict[str, str]:
    return cli_env(tmp_path, toml=DESK_TOML, CHATBOT_LOG_LEVEL="DEBUG", CHATBOT_EXCHANGE="binance",
                   BINANCE_API_KEY=API_KEY, BINANCE_API_SECRET=API_SECRET, BINANCE_API_BASE_URL=fake.base_url,
                   BINANCE_SYMBOLS="BTCUSDT")


async def chatbot(tmp_path: Path, fake: FakeBinance, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatbot.cli", *args, cwd=tmp_path, env=binance_env(tmp_path, fake),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def no_secrets(*texts: str) -> None:
    for text in texts:
        assert API_KEY not in text and API_SECRET not in text


async def test_console_status_against_the_fake(tmp_path: Path, fake: FakeBinance) -> None:
    code, out, err = await chatbot(tmp_path, fake, "console", stdin=b"/status\n/borrow USDT 100\n/confirm\n")
    assert code == 0, out + err
    assert "Status — cross margin" in out and "20,000.00 USDT" in out
    assert "Done [" in out
    assert fake.book.snapshot(None).asset("USDT").borrowed == 100
    assert fake.count("POST", "/sapi/v1/margin/borrow-repay") == 1
    assert "binance: connected" in err  # the logs were captured at all
    no_secrets(out, err)


async def test_config_check_runs_the_start_up_checks(tmp_path: Path, fake: FakeBinance) -> None:
    code, out, err = await chatbot(tmp_path, fake, "config", "check")
    assert code == 0, out + err
    assert "Binance: key accepted (withdrawals disabled, margin enabled, IP-restricted); clock offset" in out
    assert out.rstrip().endswith("OK")
    no_secrets(out, err)


async def test_config_check_refuses_a_key_with_withdrawals(tmp_path: Path, fake: FakeBinance) -> None:
    fake.restrictions = {"enableWithdrawals": True}
    code, out, err = await chatbot(tmp_path, fake, "config", "check")
    assert code == 2
    problems = [line for line in err.splitlines() if line.startswith("config error:")]
    assert problems == [problems[0]] and "BINANCE_API_KEY has withdrawals enabled" in problems[0]
    assert "Traceback" not in err and "OK" not in out.splitlines()
    assert fake.requests("POST") == []
    no_secrets(out, err)
