"""Fixtures for the scheduler tests: a SQLite file database always, PostgreSQL when
CHATBOT_TEST_POSTGRES_URL is set. Each PostgreSQL test gets its own schema (via search_path), so
`scheduler_lease` and the job tables never collide with other suites sharing the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import Db, Recorder

from chatbot.scheduler import clear_context, create_scheduler_tables, set_context  # isort: skip


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Db]:
    db = Db("sqlite", f"sqlite:///{tmp_path / 'sched.db'}")
    create_scheduler_tables(db.engine())
    yield db
    for e in db.engines:
        e.dispose()


@pytest.fixture
def pg_db(postgres_schema: tuple[str, str]) -> Iterator[Db]:
    url, schema = postgres_schema  # skipped by the shared fixture when PostgreSQL is not configured
    db = Db("postgres", url, schema)
    try:
        create_scheduler_tables(db.engine())
        yield db
    finally:
        for e in db.engines:
            e.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Db:
    return request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    set_context(rec)
    yield rec
    clear_context()
