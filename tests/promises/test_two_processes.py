"""Promise: two processes on one database trade on one set of books (SQLite and PostgreSQL).

Two real `chatbot console` processes confirm borrows at the same time; every loan each of them
reports "Done" is in the paper ledger, and the ledger, the intents and the audit log agree. Then
the setup the README describes — `chatbot run` serving Telegram beside a console drill — trades too.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from chatbot.store.db import make_engine
from tests.cli import Cli, chatbot, cli_env
from tests.fakes.telegram import FakeTelegram

ROUNDS = 8


def script(rounds: int, amount: str) -> str:
    return "".join(f"/borrow USDT {amount}\n/confirm\n" for _ in range(rounds))


def ledger(url: str) -> tuple[int, Decimal, int, int]:
    """(borrow records, USDT borrowed on cross, DONE intents, processes that registered)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        loans = conn.execute(sa.text("SELECT count(*) FROM paper_loans WHERE type = 'BORROW'")).scalar_one()
        borrowed = conn.execute(sa.text("SELECT borrowed FROM paper_balances WHERE account = 'CROSS' "
                                        "AND asset = 'USDT'")).scalar_one()
        done = conn.execute(sa.text("SELECT count(*) FROM intents WHERE state = 'DONE'")).scalar_one()
        processes = conn.execute(sa.text("SELECT count(*) FROM desk_processes")).scalar_one()
    engine.dispose()
    return int(loans), Decimal(str(borrowed)), int(done), int(processes)


def two_consoles(tmp_path: Path, url: str) -> None:
    env = cli_env(tmp_path, url)
    assert chatbot(tmp_path, "db", "upgrade", env=env).returncode == 0
    procs = [subprocess.Popen([sys.executable, "-m", "chatbot.cli", "console", "--as", who], cwd=tmp_path, env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for who in ("carol", "alice")]
    outputs = [p.communicate(script(ROUNDS, amount), timeout=120)
               for p, amount in zip(procs, ("100", "7"), strict=True)]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert out.count("Done [") == ROUNDS, out + err
    loans, borrowed, done, processes = ledger(url)
    assert loans == 2 * ROUNDS and done == 2 * ROUNDS and processes >= 2
    assert borrowed == ROUNDS * Decimal("100") + ROUNDS * Decimal("7")
    verify = chatbot(tmp_path, "audit", "verify", env=env)
    assert verify.returncode == 0, verify.stderr


def test_two_consoles_share_one_ledger_sqlite(tmp_path: Path) -> None:
    two_consoles(tmp_path, f"sqlite:///{tmp_path / 'desk.db'}")


@pytest.mark.postgres
def test_two_consoles_share_one_ledger_postgres(tmp_path: Path, postgres_url: str) -> None:
    two_consoles(tmp_path, postgres_url)


async def test_chatbot_run_on_telegram_beside_a_console_drill(tmp_path: Path) -> None:
    """`chatbot run` serves Telegram while an admin drills on the console: both trade on one ledger."""
    from tests.telegram.test_run_cli import TOKEN

    url = f"sqlite:///{tmp_path / 'desk.db'}"
    async with FakeTelegram(TOKEN) as fake:
        env = cli_env(tmp_path, url, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake.base_url)
        assert chatbot(tmp_path, "db", "upgrade", env=env).returncode == 0
        cli = await Cli.start(tmp_path, "run", env=env)
        proc = cli.proc
        try:
            await cli.until(fake.wait_arrivals("getUpdates"))
            console_env = {k: v for k, v in env.items() if not k.startswith("TELEGRAM_")}
            drill = asyncio.create_task(asyncio.to_thread(
                chatbot, tmp_path, "console", "--as", "alice", stdin=script(ROUNDS, "7"), env=console_env))
            for n in range(ROUNDS):
                sent = len(fake.calls_of("sendMessage"))
                fake.command(1003, "/borrow USDT 100")
                (prompt,) = (await cli.until(fake.wait_for("sendMessage", sent + 1)))[sent:]
                message = fake.messages[(prompt.params["chat_id"], prompt.result["message_id"])]
                fake.press(1003, message, prompt.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
                await cli.until(fake.wait_for("editMessageText", n + 1))
            console = await drill
            assert console.returncode == 0 and console.stdout.count("Done [") == ROUNDS, console.stdout
            edits = [c.params["text"] for c in fake.calls_of("editMessageText")]
            assert sum("Done [" in text for text in edits) == ROUNDS, edits
        finally:
            await cli.terminate(15)
        assert proc.returncode == 0, cli.text()
    loans, borrowed, done, _ = ledger(url)
    assert loans == 2 * ROUNDS and done == 2 * ROUNDS
    assert borrowed == ROUNDS * Decimal("100") + ROUNDS * Decimal("7")
