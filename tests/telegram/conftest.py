"""Fixtures: the fake Bot API, and (tests/chat_fixtures.py) desk cores and the real bot polling the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.chat_fixtures import Chat, bot, core, make_bot, make_core, template_db  # noqa: F401  (the shared fixtures)
from tests.fakes.telegram import FakeTelegram
from tests.telegram.desk import new_bot, open_core


@pytest.fixture
def chat() -> Chat:
    return Chat(open_core, new_bot)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server
