"""Fixtures: the fake Discord (REST + gateway), desk cores (paper exchange; SQLite, or PostgreSQL
where a test asks for `desk_url`), and the real discord.py client connected to the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.discord import DiscordBot
from chatbot.core import DeskCore
from chatbot.store import migrate
from tests.discord.desk import migrated_template, new_bot, open_core, sqlite_copy
from tests.fakes.discord import FakeDiscord

MakeCore = Callable[..., Awaitable[DeskCore]]
MakeBot = Callable[..., Awaitable[DiscordBot]]


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_template(tmp_path_factory.mktemp("dc-template"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk_url(request: pytest.FixtureRequest, template_db: Path, tmp_path: Path) -> str:
    """A migrated desk database on each backend."""
    if request.param == "sqlite":
        return sqlite_copy(template_db, tmp_path)
    url = str(request.getfixturevalue("postgres_url"))
    migrate.upgrade(url)
    return url


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def make_core(template_db: Path, tmp_path: Path) -> AsyncIterator[MakeCore]:
    cores: list[DeskCore] = []

    async def make(url: str | None = None, **kw: Any) -> DeskCore:
        core = await open_core(url or sqlite_copy(template_db, tmp_path), **kw)
        cores.append(core)
        return core

    yield make
    for core in cores:
        await core.exchange.close()
        core.engine.dispose()


@pytest.fixture
async def make_bot(fake: FakeDiscord) -> AsyncIterator[MakeBot]:
    bots: list[DiscordBot] = []

    async def make(core: DeskCore, **kw: Any) -> DiscordBot:
        bot = new_bot(core, fake, **kw)
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
async def bot(core: DeskCore, make_bot: MakeBot) -> DiscordBot:
    return await make_bot(core)
