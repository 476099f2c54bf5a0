"""Fixtures (tests/chat_fixtures.py): the fake Discord (REST + gateway), desk cores — SQLite, or
PostgreSQL where a test asks for `desk_url` — and the real discord.py client connected to the fake."""

from __future__ import annotations

import pytest

from tests.chat_fixtures import (  # noqa: F401  (the shared fixtures)
    Chat,
    bot,
    core,
    desk_url,
    fake,
    make_bot,
    make_core,
    template_db,
)
from tests.discord.desk import new_bot, open_core
from tests.fakes.discord import FakeDiscord


@pytest.fixture
def chat() -> Chat:
    return Chat(FakeDiscord, open_core, new_bot)
