"""Shared fixtures: a fresh database per test on SQLite always, and on PostgreSQL when configured;
a test desk (tests/core/desk.py) on it.

PostgreSQL tests run when `CHATBOT_TEST_POSTGRES_URL` is set (CI sets it). Each test gets its own
schema (via the connection's search_path), so tests never see each other's rows. A module whose
desk needs a policy overrides `desk_policy`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from chatbot.config import PolicyConfig
from chatbot.store.db import normalize_url
from tests.core.desk import DeskUnderTest, open_desk

os.environ.setdefault("PTB_TIMEDELTA", "1")
PG_URL = os.environ.get("CHATBOT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_report_header(config: pytest.Config) -> str:
    if PG_URL:
        return "PostgreSQL tests: ON (CHATBOT_TEST_POSTGRES_URL is set)"
    return "PostgreSQL tests: SKIPPED — set CHATBOT_TEST_POSTGRES_URL to run them"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'desk.db'}"


@pytest.fixture
def postgres_schema() -> Iterator[tuple[str, str]]:
    """(server URL, a fresh private schema) — the one place PostgreSQL tests are skipped when unset."""
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (CHATBOT_TEST_POSTGRES_URL unset)")
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(normalize_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield normalize_url(PG_URL), schema
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_schema: tuple[str, str]) -> str:
    """A PostgreSQL URL whose connections see only their own schema (via search_path)."""
    url, schema = postgres_schema
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database URL on each backend."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def desk_policy() -> PolicyConfig | None:
    """The policy `desk` opens with (None: the defaults); a module overrides this fixture to change it."""
    return None


@pytest.fixture
async def desk(db_url: str, desk_policy: PolicyConfig | None) -> AsyncIterator[DeskUnderTest]:
    """A test desk on each database backend, closed after the test."""
    d = await open_desk(db_url, policy=desk_policy)
    yield d
    await d.close()
