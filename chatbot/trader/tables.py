"""Tables of the trader's view: the desk's fills, its equity marks, and the orders it is watching.

Why it exists: entry prices and P&L are rebuilt from fills, so the fills are kept in the desk's own
database (a restart, or a live exchange that keeps only recent history, loses nothing); `/pnl` needs
the equity at the start of its window; and a requester is told once when their order fills or expires,
by whichever process sees it first (a conditional update: `claimed_at` while telling, `told_status`
once told; a claim its process never finished expires). Money is `Money`, exact on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from chatbot.store.types import Money, UtcDateTime


def _ts(nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(UtcDateTime(), nullable=nullable)


class DeskFill(SQLModel, table=True):
    """One fill of the desk's margin account, as the exchange's trade history has it."""

    __tablename__ = "desk_fills"
    __table_args__ = (sa.UniqueConstraint("account", "symbol", "trade_id", name="uq_desk_fills_trade"),)
    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=32, index=True)  # "cross" or the isolated pair's symbol
    symbol: str = Field(max_length=32)
    trade_id: int = Field(sa_type=sa.BigInteger)
    order_id: int = Field(sa_type=sa.BigInteger)
    side: str = Field(max_length=4)
    price: Decimal = Field(sa_type=Money)
    qty: Decimal = Field(sa_type=Money)
    commission: Decimal = Field(sa_type=Money)
    commission_asset: str = Field(max_length=16)
    time: datetime = Field(sa_column=_ts())


class DeskEquity(SQLModel, table=True):
    """The desk's net margin equity (USDT, every margin account) at a moment: where `/pnl` windows start."""

    __tablename__ = "desk_equity"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False, index=True))
    equity: Decimal = Field(sa_type=Money)
    note: str = Field(default="", max_length=64)


class DeskOrder(SQLModel, table=True):
    """A resting order (or OCO) the desk placed for a member: who is told when it fills or expires."""

    __tablename__ = "desk_orders"
    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=40, unique=True)  # the intent's client id (order or OCO list)
    kind: str = Field(max_length=8)  # order | oco
    exchange_id: int | None = Field(default=None, sa_type=sa.BigInteger)  # the order id, or the OCO's list id
    symbol: str = Field(max_length=32)
    isolated: bool = False
    requester: str = Field(max_length=64)
    requester_id: int | None = Field(default=None)
    pending_id: int | None = Field(default=None)
    summary: str = Field(default="", max_length=160)
    status: str = Field(default="NEW", max_length=24)
    told_status: str = Field(default="", max_length=24)  # the status the requester was told ("" not yet)
    claimed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))  # a check is telling now
    created_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts())
