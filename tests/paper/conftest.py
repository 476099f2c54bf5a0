"""Fixtures for the paper exchange tests: databases (SQLite file, optional PostgreSQL) and exchanges.

PostgreSQL: `pg_db` uses the root conftest's `postgres_url` (a throwaway schema per test), so it
skips with a clear reason unless `CHATBOT_TEST_POSTGRES_URL` is set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from adapters.paper import PaperExchange, create_tables
from chatbot.store.db import make_engine

from .helpers import paper_config


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'paper.db'}")
    create_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_db(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    create_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def open_exchange(db: Engine) -> Callable[..., Awaitable[PaperExchange]]:
    """`await open_exchange(**config)` opens a PaperExchange on the test's SQLite database."""

    async def factory(**overrides: Any) -> PaperExchange:
        return await PaperExchange.open(db, paper_config(**overrides))

    return factory
