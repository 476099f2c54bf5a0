"""Fixtures (tests/chat_fixtures.py): the fake Bot API, desk cores and the real bot polling the fake."""

from __future__ import annotations

import pytest

from tests.chat_fixtures import Chat, bot, core, fake, make_bot, make_core, template_db  # noqa: F401  (shared)
from tests.fakes.telegram import FakeTelegram
from tests.telegram.desk import new_bot, open_core


@pytest.fixture
def chat() -> Chat:
    return Chat(FakeTelegram, open_core, new_bot)
