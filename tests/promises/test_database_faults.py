"""Promise: a database that cannot be used is one clear line, never a traceback, and never a half-done action.

At start (through the real CLI): PostgreSQL not reachable, a missing or read-only directory, a
corrupt SQLite file, a bad URL — one line naming the problem, exit 2. At run time: PostgreSQL going
away under a running console (through a TCP proxy the test cuts) gives "the desk's database is
unavailable" and the process keeps serving; a database that fills up right after the exchange
applied a borrow gives a truthful answer, and recovery records and reports the loan once the
database is back.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from chatbot.store.tables import AuditEntry, Intent
from tests.cli import chatbot, cli_env, one_line
from tests.core.desk import DeskUnderTest, open_desk, short_id

PG_URL = os.environ.get("CHATBOT_TEST_POSTGRES_URL")


def refused_start(tmp_path: Path, url: str, *args: str) -> str:
    result = chatbot(tmp_path, *(args or ("console",)), stdin="/status\n", env=cli_env(tmp_path, url))
    assert result.returncode == 2, result.stdout + result.stderr
    return one_line(result)


def test_postgres_not_reachable_at_start(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = refused_start(tmp_path, f"postgresql+psycopg://desk:SENTINELPW@127.0.0.1:{port}/desk")
    assert line.startswith("database unavailable:") and "CHATBOT_DATABASE_URL" in line
    assert "SENTINELPW" not in line


@pytest.mark.parametrize("path, why", [("/no/such/dir/desk.db", "unable to open"),
                                       ("/proc/desk.db", "unable to open")])
def test_a_missing_or_read_only_directory(tmp_path: Path, path: str, why: str) -> None:
    line = refused_start(tmp_path, f"sqlite:///{path}")
    assert line.startswith("database unavailable:") and why in line


def test_a_corrupt_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "desk.db"
    db.write_bytes(b"this is not a database, it is a shopping list\n" * 200)
    line = refused_start(tmp_path, f"sqlite:///{db}")
    assert line.startswith("database unavailable:") and "not a database" in line


@pytest.mark.parametrize("url, words", [("not a url", "not a database URL"),
                                        ("mysql://desk:SENTINELPW@db/desk", "mysql is not supported")])
def test_a_bad_url_is_one_line_in_config_check_and_at_start(tmp_path: Path, url: str, words: str) -> None:
    for args in (("config", "check"), ("console",)):
        line = refused_start(tmp_path, url, *args)
        assert "CHATBOT_DATABASE_URL" in line and words in line and "SENTINELPW" not in line


# ---------------------------------------------------------------------------- at run time


class CuttableProxy:
    """A TCP proxy to PostgreSQL on 127.0.0.1 that the test can cut (every connection dropped, new ones
    refused) and restore, in a thread of its own."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.loop = asyncio.new_event_loop()
        self.up = True
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = self._call(self._start())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        async def drop() -> None:
            self.up = False
            for w in list(self.writers):
                w.close()
            self.writers.clear()

        self._call(drop())

    def restore(self) -> None:
        async def up() -> None:
            self.up = True

        self._call(up())

    def close(self) -> None:
        if self.server is not None:
            self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)


class Console:
    """`chatbot console` as a long-running process: one command in, its reply out."""

    def __init__(self, tmp_path: Path, env: dict[str, str], prelude: str = "") -> None:
        run = f"{prelude}\nfrom chatbot.cli import app\napp()"
        self.proc = subprocess.Popen([sys.executable, "-c", run, "console", "--as", "carol"],
                                     cwd=tmp_path, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)

    def say(self, text: str, until: str | tuple[str, ...]) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        seen = []
        while True:
            line = self.proc.stdout.readline()
            assert line, "".join(seen) + (self.proc.stderr.read() if self.proc.stderr else "")
            seen.append(line)
            if any(word in line for word in ((until,) if isinstance(until, str) else until)):
                return "".join(seen)


@pytest.mark.postgres
def test_postgres_going_away_mid_run_is_a_clear_answer_and_the_console_keeps_serving(
        tmp_path: Path, postgres_schema: tuple[str, str]) -> None:
    url, schema = postgres_schema
    proxy = CuttableProxy(("127.0.0.1", 5432))
    proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    env = cli_env(tmp_path, f"{proxied}{'&' if '?' in proxied else '?'}options=-csearch_path%3D{schema}")
    console = Console(tmp_path, env)
    try:
        assert "Status — cross margin" in console.say("/status", "Status")
        proxy.cut()
        down = console.say("/borrow USDT 100", "database")
        assert "The desk's database is unavailable right now; nothing was changed." in down
        proxy.restore()
        assert "Confirm borrow 100 USDT" in console.say("/borrow USDT 100", "Confirm")
        assert "Done [" in console.say("/confirm", "Done")
    finally:
        _, err = console.proc.communicate(timeout=30)  # end of input: the console exits
        proxy.close()
    assert console.proc.returncode == 0, err
    assert "Traceback" not in err, err


class FillsUpAfterTheExchange:
    """The paper exchange; right after it applied a borrow, the database refuses every write (disk full)."""

    def __init__(self, desk: DeskUnderTest) -> None:
        self.exchange = desk.exchange
        self.full = False
        event.listen(desk.core.engine, "before_cursor_execute", self._refuse)

    def _refuse(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.full and statement.lstrip().split(maxsplit=1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            raise sqlite3.OperationalError("database or disk is full")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.exchange, name)

    async def borrow(self, *args: Any, **kw: Any) -> int:
        tx = await self.exchange.borrow(*args, **kw)
        self.full = True
        return tx


async def test_a_full_disk_after_the_exchange_applied_a_borrow_is_reported_and_recorded_later(
        sqlite_url: str) -> None:
    desk = await open_desk(sqlite_url)
    try:
        full = FillsUpAfterTheExchange(desk)
        desk.core.services.exchange = desk.core.executor.exchange = full  # type: ignore[assignment]
        pid = short_id(await desk.say("carol", "/borrow USDT 1000"))
        reply = await desk.say("carol", f"/confirm {pid}")
        assert "sent to the exchange, but the desk's database is unavailable" in reply.title
        assert "Done" not in reply.title and "nothing was changed" not in reply.text()
        assert (await desk.exchange.account(None)).asset("USDT").borrowed == Decimal("1000")
        waits = await desk.say("carol", "/borrow USDT 5")
        assert "still being reconciled" in waits.title  # no trading until that loan is on the books
        full.full = False  # space again
        await desk.core.recovery.run_once()
        with Session(desk.core.engine) as s:
            (intent,) = s.exec(select(Intent)).all()
            assert intent.state == "DONE" and intent.exchange_ref
            assert any(e.action == "recover" for e in s.exec(select(AuditEntry)).all())
        assert desk.core.pending.by_short_id(pid).state == "done"  # type: ignore[union-attr]
        blocked = await desk.say("carol", "/borrow USDT 5")
        assert blocked.actions, blocked.title  # trading goes on once the outcome is known
    finally:
        await desk.close()


@pytest.mark.postgres
def test_connections_the_server_dropped_while_idle_are_replaced_before_use(
        tmp_path: Path, postgres_schema: tuple[str, str]) -> None:
    """No ping on every checkout (a round trip per store call); a connection idle for a while is pinged
    and replaced when the server dropped it (a restart, an idle timeout), so nobody sees the failure.
    The console here counts every pooled connection as idle (`PING_AFTER_IDLE_SECONDS = 0`)."""
    url, schema = postgres_schema
    proxy = CuttableProxy(("127.0.0.1", 5432))
    proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    env = cli_env(tmp_path, f"{proxied}{'&' if '?' in proxied else '?'}options=-csearch_path%3D{schema}")
    console = Console(tmp_path, env, prelude="import chatbot.store.db as db; db.PING_AFTER_IDLE_SECONDS = 0.0")
    try:
        assert "Status — cross margin" in console.say("/status", "Status")
        proxy.cut()  # the server side of every pooled connection goes away …
        proxy.restore()  # … and the server is back before anyone asks again
        assert "Status — cross margin" in console.say("/status", ("Status", "unavailable"))
    finally:
        _, err = console.proc.communicate(timeout=30)
        proxy.close()
    assert console.proc.returncode == 0, err
