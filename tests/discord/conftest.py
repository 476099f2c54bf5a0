"""Fixtures: the fake Discord (REST + gateway), and (tests/chat_fixtures.py) desk cores — SQLite, or
PostgreSQL where a test asks for `desk_url` — and the real discord.py client connected to the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.chat_fixtures import Chat, bot, core, desk_url, make_bot, make_core, template_db  # noqa: F401  (shared)
from tests.discord.desk import new_bot, open_core
from tests.fakes.discord import FakeDiscord


@pytest.fixture
def chat() -> Chat:
    return Chat(open_core, new_bot)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server
