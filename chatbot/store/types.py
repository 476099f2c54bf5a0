"""Column types that keep money exact on every database.

SQLite has no exact decimal: its NUMERIC affinity turns `123456789012345.123456789` into a float.
`Money` therefore stores text on SQLite and `NUMERIC(38, 18)` on PostgreSQL, and always hands
back a `Decimal` equal to the one written. Values with more than 18 decimals are refused rather
than rounded silently.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from chatbot.money import decimals_of, plain

MONEY_SCALE = 18
MONEY_PRECISION = 38


class Money(TypeDecorator[Decimal]):
    """Exact Decimal column: TEXT on SQLite, NUMERIC(38, 18) elsewhere."""

    impl = sa.Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(64))
        return dialect.type_descriptor(sa.Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            if isinstance(value, float):
                raise TypeError("money must be Decimal, never float")
            value = Decimal(value)
        if not value.is_finite():
            raise ValueError(f"money must be finite, got {value}")
        if decimals_of(value) > MONEY_SCALE:
            raise ValueError(f"money has more than {MONEY_SCALE} decimals: {value}")
        if dialect.name == "sqlite":
            return plain(value)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(plain(Decimal(str(value))))




class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite keeps no zone: store UTC, read back aware)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("times must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
