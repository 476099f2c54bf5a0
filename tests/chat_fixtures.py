"""The fixtures the Telegram and Discord tests share: desk cores and started bots, closed after the test.

Why it exists: tests/telegram/conftest.py and tests/discord/conftest.py wrote these the same way.
Each of them imports the fixtures below and supplies what differs as a `chat` fixture: a `Chat`
saying how that platform's fake server, desk core and bot are opened (from its desk.py).
- `fake`: the platform's fake server, serving for the test;
- `desk_url`: a migrated desk database, once on SQLite and once on PostgreSQL (when configured);
- `make_core(url=None, **kw)`: a started core, on a fresh copy of the migrated template unless a
  database URL is given; `core` is one with the defaults;
- `make_bot(core, **kw)`: the real bot on `fake`, started; `bot` is one on `core`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from chatbot.core import DeskCore
from chatbot.store import migrate
from tests.chat_desk import MakeCore, migrated_template, sqlite_copy


class Bot(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Chat:
    """One platform's way to open its fake server, a desk core (on a database URL) and a bot on the fake."""

    new_fake: Callable[[], AbstractAsyncContextManager[Any]]
    open_core: Callable[..., Awaitable[DeskCore]]
    new_bot: Callable[..., Bot]


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
async def fake(chat: Chat) -> AsyncIterator[Any]:
    async with chat.new_fake() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk_url(request: pytest.FixtureRequest, template_db: Path, tmp_path: Path) -> str:
    """A migrated desk database on each backend."""
    if request.param == "sqlite":
        return sqlite_copy(template_db, tmp_path)
    url = str(request.getfixturevalue("postgres_url"))
    migrate.upgrade(url)
    return url


@pytest.fixture
async def make_core(chat: Chat, template_db: Path, tmp_path: Path) -> AsyncIterator[MakeCore]:
    cores: list[DeskCore] = []

    async def make(url: str | None = None, **kw: Any) -> DeskCore:
        core = await chat.open_core(url or sqlite_copy(template_db, tmp_path), **kw)
        cores.append(core)
        return core

    yield make
    for core in cores:
        await core.exchange.close()
        core.engine.dispose()


@pytest.fixture
async def make_bot(chat: Chat, fake: Any) -> AsyncIterator[Callable[..., Awaitable[Bot]]]:
    bots: list[Bot] = []

    async def make(core: DeskCore, **kw: Any) -> Bot:
        bot = chat.new_bot(core, fake, **kw)
        await bot.start()
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        await bot.stop()


@pytest.fixture
async def core(make_core: MakeCore) -> DeskCore:
    return await make_core()


@pytest.fixture
async def bot(core: DeskCore, make_bot: Callable[..., Awaitable[Bot]]) -> Bot:
    return await make_bot(core)
