"""Fixtures for the live-adapter tests: a fake Binance per test, and a desk on it per database backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.binance.live import LiveDesk, open_live_desk
from tests.fakes.binance import FakeBinance


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    async with FakeBinance() as server:
        yield server


@pytest.fixture
async def desk(fake: FakeBinance, db_url: str) -> AsyncIterator[LiveDesk]:
    live = await open_live_desk(fake, db_url)
    yield live
    await live.close()
