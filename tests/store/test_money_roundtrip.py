"""Money round-trips exactly through SQLite and PostgreSQL; floats are refused."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.exc import StatementError
from sqlmodel import select

from chatbot.money import plain
from chatbot.store import migrate
from chatbot.store.db import make_engine, session_scope
from chatbot.store.tables import Member

VALUES = [
    Decimal("123456789012345.123456789"),
    Decimal("0.000000000000000001"),
    Decimal("20000"),
    Decimal("99999999999999999999.999999999999999999"),
    Decimal("1.10000000"),
]


@pytest.mark.parametrize("value", VALUES)
def test_decimal_round_trip(db_url: str, value: Decimal) -> None:
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        s.add(Member(name="m", role="trader", max_leverage=value, created_at=datetime.now(UTC)))
    with session_scope(engine) as s:
        got = s.exec(select(Member)).one().max_leverage
    engine.dispose()
    assert isinstance(got, Decimal)
    assert got == value
    assert plain(got) == plain(value)  # same digits, not just an equal value


def test_times_come_back_aware_utc(db_url: str) -> None:
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    at = datetime(2024, 3, 1, 10, 30, 0, 123456, tzinfo=UTC)
    with session_scope(engine) as s:
        s.add(Member(name="m", role="viewer", created_at=at))
    with session_scope(engine) as s:
        got = s.exec(select(Member)).one().created_at
    engine.dispose()
    assert got == at and got.tzinfo is not None


def test_float_and_overprecise_money_refused(sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    for bad in (1.5, Decimal("0.0000000000000000001")):
        with pytest.raises(StatementError), session_scope(engine) as s:
            s.add(Member(name="m", role="viewer", max_leverage=bad))  # type: ignore[arg-type]
            s.flush()
    engine.dispose()
