"""Persisted alert state: margin incidents and the daily interest summaries already posted.

Incidents survive restarts, so a restart neither repeats an open alert nor forgets it; the
summary table makes "at most one summary per account per day" a database constraint.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from chatbot.store.types import Money, UtcDateTime


class AlertIncident(SQLModel, table=True):
    """One incident: a margin-level band episode of an account, or one liquidation.

    At most one open incident per account and kind (`uq_alert_incidents_open`), so two processes
    watching the same account cannot open it twice. `last_notified_at` is set only when a
    notification was actually delivered to someone: an incident nobody heard about is retried.
    """

    __tablename__ = "alert_incidents"
    __table_args__ = (
        sa.Index("uq_alert_incidents_open", "account", "kind", unique=True,
                 sqlite_where=sa.text("resolved_at IS NULL"), postgresql_where=sa.text("resolved_at IS NULL")),
    )
    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=32, index=True)  # "cross" or an isolated symbol
    kind: str = Field(default="margin", max_length=16)  # margin (band episode) | liquidation
    band: str = Field(max_length=24)  # worst band reached while open
    nonce: str = Field(max_length=32, unique=True)  # the Acknowledge button's token
    opened_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    last_notified_at: datetime | None = Field(default=None, sa_column=sa.Column(UtcDateTime(), nullable=True))
    detail: str = ""  # liquidations: what was sold, at what price, the fee
    last_level: Decimal = Field(sa_type=Money)
    notifications: int = 0  # notifications delivered
    acknowledged_by: str | None = Field(default=None, max_length=64)
    escalated_at: datetime | None = Field(default=None, sa_column=sa.Column(UtcDateTime(), nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=sa.Column(UtcDateTime(), nullable=True))


class InterestSummary(SQLModel, table=True):
    __tablename__ = "interest_summaries"
    __table_args__ = (sa.UniqueConstraint("account", "day"),)
    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=32)
    day: date
    total_usdt: Decimal = Field(sa_type=Money)
    posted_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
