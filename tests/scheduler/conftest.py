"""Fixtures for the scheduler tests: a SQLite file database always, PostgreSQL when
CHATBOT_TEST_POSTGRES_URL is set. Each PostgreSQL test gets its own schema (via search_path), so
`scheduler_lease` and the job tables never collide with other suites sharing the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from .support import PG_SKIP_REASON, PG_URL, Db, Recorder

from chatbot.scheduler import clear_context, create_scheduler_tables, set_context  # isort: skip
from chatbot.store.db import make_engine  # isort: skip


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Db]:
    db = Db("sqlite", f"sqlite:///{tmp_path / 'sched.db'}")
    create_scheduler_tables(db.engine())
    yield db
    for e in db.engines:
        e.dispose()


@pytest.fixture
def pg_db() -> Iterator[Db]:
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    schema = f"sched_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    db = Db("postgres", PG_URL, schema)
    try:
        create_scheduler_tables(db.engine())
        yield db
    finally:
        for e in db.engines:
            e.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Db:
    return request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    set_context(rec)
    yield rec
    clear_context()
