"""SQLModel tables holding the paper exchange's state in the project database (all named `paper_*`).

The engine keeps its hot state in memory; after each public mutating call `store.py` writes, in one
transaction, the state row (clock, prices, counters), the dirty balance and account rows, and new
or changed records. A restart reads them all back, so a restarted exchange reports the same
snapshot and the same history. Money columns use `Money` (exact Decimal on SQLite and PostgreSQL);
times are `DateTime(timezone=True)` in UTC. The Alembic migration is generated from this module.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from chatbot.store.db import table_of
from chatbot.store.types import Money


def _money(nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(Money(), nullable=nullable)


def _time() -> sa.Column[Any]:
    return sa.Column(sa.DateTime(timezone=True), nullable=False)


def _id_pk() -> sa.Column[Any]:
    return sa.Column(sa.BigInteger, primary_key=True, autoincrement=False)


def _big(index: bool = False) -> sa.Column[Any]:
    return sa.Column(sa.BigInteger, nullable=False, index=index)


class PaperState(SQLModel, table=True):
    """One row: the paper clock, index prices, id counters, feed cursors (JSON, Decimals as strings)."""

    __tablename__ = "paper_state"

    id: str = Field(primary_key=True, max_length=32)
    clock: datetime = Field(sa_column=_time())
    doc: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    revision: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0"))


class PaperAccount(SQLModel, table=True):
    """A margin account (CROSS, ISOLATED:<symbol>) and its last published margin-level band."""

    __tablename__ = "paper_accounts"

    account: str = Field(primary_key=True, max_length=40)
    isolated_symbol: str | None = Field(default=None, max_length=32)
    band: str = Field(max_length=20)
    locked: bool = False
    created_at: datetime = Field(sa_column=_time())


class PaperBalance(SQLModel, table=True):
    """Per account (SPOT, CROSS, ISOLATED:<symbol>) and asset: free, locked, borrowed, interest."""

    __tablename__ = "paper_balances"

    account: str = Field(primary_key=True, max_length=40)
    asset: str = Field(primary_key=True, max_length=20)
    free: Decimal = Field(sa_column=_money())
    locked: Decimal = Field(sa_column=_money())
    borrowed: Decimal = Field(sa_column=_money())
    interest: Decimal = Field(sa_column=_money())


class PaperOrder(SQLModel, table=True):
    """Every order ever placed, with what an open one holds (res_*: locked funds, MARGIN_BUY loan)."""

    __tablename__ = "paper_orders"

    order_id: int = Field(sa_column=_id_pk())
    client_order_id: str = Field(max_length=40, index=True)
    symbol: str = Field(max_length=32)
    account: str = Field(max_length=40)
    isolated: bool
    side: str = Field(max_length=8)
    type: str = Field(max_length=24)
    status: str = Field(max_length=20)
    time_in_force: str = Field(max_length=8)
    orig_qty: Decimal = Field(sa_column=_money())
    executed_qty: Decimal = Field(sa_column=_money())
    cummulative_quote_qty: Decimal = Field(sa_column=_money())
    price: Decimal = Field(sa_column=_money())
    stop_price: Decimal = Field(sa_column=_money())
    quote_order_qty: Decimal | None = Field(default=None, sa_column=_money(nullable=True))
    side_effect: str = Field(max_length=24)
    working: bool
    order_list_id: int = Field(sa_column=_big())
    margin_buy_borrow_amount: Decimal = Field(sa_column=_money())
    margin_buy_borrow_asset: str | None = Field(default=None, max_length=20)
    res_asset: str | None = Field(default=None, max_length=20)
    res_amount: Decimal | None = Field(default=None, sa_column=_money(nullable=True))
    res_borrow_amount: Decimal | None = Field(default=None, sa_column=_money(nullable=True))
    res_borrow_asset: str | None = Field(default=None, max_length=20)
    res_auto_repay: bool | None = None
    res_used: bool | None = None
    time: datetime = Field(sa_column=_time())
    update_time: datetime = Field(sa_column=_time())


class PaperOrderList(SQLModel, table=True):
    """OCO order lists; the list holds the legs' shared reservation."""

    __tablename__ = "paper_order_lists"

    order_list_id: int = Field(sa_column=_id_pk())
    list_client_order_id: str = Field(max_length=40)
    symbol: str = Field(max_length=32)
    account: str = Field(max_length=40)
    isolated: bool
    side: str = Field(max_length=8)
    status: str = Field(max_length=20)
    stop_order_id: int = Field(sa_column=_big())
    limit_order_id: int = Field(sa_column=_big())
    margin_buy_borrow_amount: Decimal = Field(sa_column=_money())
    margin_buy_borrow_asset: str | None = Field(default=None, max_length=20)
    res_asset: str = Field(max_length=20)
    res_amount: Decimal = Field(sa_column=_money())
    res_borrow_amount: Decimal = Field(sa_column=_money())
    res_borrow_asset: str | None = Field(default=None, max_length=20)
    res_auto_repay: bool
    res_used: bool
    time: datetime = Field(sa_column=_time())


class PaperTrade(SQLModel, table=True):
    """One row per fill (the book fills whole orders, so one per filled order)."""

    __tablename__ = "paper_trades"

    trade_id: int = Field(sa_column=_id_pk())
    order_id: int = Field(sa_column=_big(index=True))
    symbol: str = Field(max_length=32)
    account: str = Field(max_length=40)
    side: str = Field(max_length=8)
    price: Decimal = Field(sa_column=_money())
    qty: Decimal = Field(sa_column=_money())
    quote_qty: Decimal = Field(sa_column=_money())
    commission: Decimal = Field(sa_column=_money())
    commission_asset: str = Field(max_length=20)
    is_maker: bool
    time: datetime = Field(sa_column=_time())


class PaperLoan(SQLModel, table=True):
    """Borrow and repay records (MANUAL, AUTO, LIQUIDATION), PENDING/CONFIRMED/FAILED."""

    __tablename__ = "paper_loans"

    tx_id: int = Field(sa_column=_id_pk())
    type: str = Field(max_length=8)
    kind: str = Field(max_length=16)
    account: str = Field(max_length=40)
    asset: str = Field(max_length=20)
    isolated_symbol: str | None = Field(default=None, max_length=32)
    amount: Decimal = Field(sa_column=_money())
    principal: Decimal = Field(sa_column=_money())
    interest: Decimal = Field(sa_column=_money())
    status: str = Field(max_length=12)
    time: datetime = Field(sa_column=_time())


class PaperInterest(SQLModel, table=True):
    """Interest history: one row per (account, asset, hour); `daily_rate` is Binance's interestRate."""

    __tablename__ = "paper_interest"
    __table_args__ = (sa.Index("ix_paper_interest_account_asset_time", "account", "asset", "time"),)

    tx_id: int = Field(sa_column=_id_pk())
    account: str = Field(max_length=40)
    asset: str = Field(max_length=20)
    isolated_symbol: str | None = Field(default=None, max_length=32)
    time: datetime = Field(sa_column=_time())
    principal: Decimal = Field(sa_column=_money())
    interest: Decimal = Field(sa_column=_money())
    daily_rate: Decimal = Field(sa_column=_money())
    type: str = Field(max_length=16)


class PaperLiquidation(SQLModel, table=True):
    """forceLiquidationRec: one row per liquidation trade; `fee` is in `fee_asset` (the proceeds)."""

    __tablename__ = "paper_liquidations"

    order_id: int = Field(sa_column=_id_pk())
    account: str = Field(max_length=40)
    symbol: str = Field(max_length=32)
    isolated: bool
    side: str = Field(max_length=8)
    qty: Decimal = Field(sa_column=_money())
    price: Decimal = Field(sa_column=_money())
    avg_price: Decimal = Field(sa_column=_money())
    fee: Decimal = Field(sa_column=_money())
    fee_asset: str = Field(max_length=20)
    time: datetime = Field(sa_column=_time())


class PaperTransfer(SQLModel, table=True):
    """Transfers between SPOT, CROSS and ISOLATED:<symbol>."""

    __tablename__ = "paper_transfers"

    tx_id: int = Field(sa_column=_id_pk())
    asset: str = Field(max_length=20)
    amount: Decimal = Field(sa_column=_money())
    from_account: str = Field(max_length=40)
    to_account: str = Field(max_length=40)
    time: datetime = Field(sa_column=_time())


PAPER_MODELS: tuple[type[SQLModel], ...] = (
    PaperState, PaperAccount, PaperBalance, PaperOrder, PaperOrderList, PaperTrade, PaperLoan,
    PaperInterest, PaperLiquidation, PaperTransfer,
)


def paper_tables() -> list[sa.Table]:
    return [table_of(m) for m in PAPER_MODELS]


def create_tables(bind: Engine | Connection) -> None:
    """Create the paper tables (tests and throwaway databases; production uses the migration)."""
    SQLModel.metadata.create_all(bind, tables=paper_tables())
