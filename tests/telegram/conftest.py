"""Fixtures: the fake Bot API, a desk core (paper exchange, SQLite), and the real bot polling the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.telegram import TelegramBot
from chatbot.core import DeskCore
from tests.fakes.telegram import FakeTelegram
from tests.telegram.desk import migrated_template, new_bot, open_core


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_template(tmp_path_factory.mktemp("tg-template"))


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def make_core(template_db: Path, tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[DeskCore]]]:
    cores: list[DeskCore] = []

    async def make(**kw: Any) -> DeskCore:
        directory = tmp_path / f"desk{len(cores)}"
        directory.mkdir()
        core = await open_core(template_db, directory, **kw)
        cores.append(core)
        return core

    yield make
    for core in cores:
        await core.exchange.close()
        core.engine.dispose()


@pytest.fixture
async def make_bot(fake: FakeTelegram) -> AsyncIterator[Callable[..., Awaitable[TelegramBot]]]:
    bots: list[TelegramBot] = []

    async def make(core: DeskCore, **kw: Any) -> TelegramBot:
        bot = new_bot(core, fake, **kw)
        await bot.start()
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        await bot.stop()


@pytest.fixture
async def core(make_core: Callable[..., Awaitable[DeskCore]]) -> DeskCore:
    return await make_core()


@pytest.fixture
async def bot(core: DeskCore, make_bot: Callable[..., Awaitable[TelegramBot]]) -> TelegramBot:
    return await make_bot(core)
