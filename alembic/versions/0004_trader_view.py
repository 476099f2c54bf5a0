"""trader view: desk fills, equity marks, watched orders

- desk_fills: the margin account's fills from the exchange's trade history (entry prices, P&L).
- desk_equity: the desk's net margin equity at moments (`/pnl` windows start there).
- desk_orders: resting orders placed for a member, told once when they fill or expire.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 12:58:41.961579
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('desk_equity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('equity', sa.Numeric(38, 18).with_variant(sa.String(64), "sqlite"), nullable=False),
    sa.Column('note', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('desk_equity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_desk_equity_at'), ['at'], unique=False)

    op.create_table('desk_fills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=32), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('trade_id', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('side', sa.String(length=4), nullable=False),
    sa.Column('price', sa.Numeric(38, 18).with_variant(sa.String(64), "sqlite"), nullable=False),
    sa.Column('qty', sa.Numeric(38, 18).with_variant(sa.String(64), "sqlite"), nullable=False),
    sa.Column('commission', sa.Numeric(38, 18).with_variant(sa.String(64), "sqlite"), nullable=False),
    sa.Column('commission_asset', sa.String(length=16), nullable=False),
    sa.Column('time', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account', 'symbol', 'trade_id', name='uq_desk_fills_trade')
    )
    with op.batch_alter_table('desk_fills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_desk_fills_account'), ['account'], unique=False)

    op.create_table('desk_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('exchange_id', sa.BigInteger(), nullable=True),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('isolated', sa.Boolean(), nullable=False),
    sa.Column('requester', sa.String(length=64), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=True),
    sa.Column('pending_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.String(length=160), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('told_status', sa.String(length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id')
    )


def downgrade() -> None:
    op.drop_table('desk_orders')
    with op.batch_alter_table('desk_fills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_desk_fills_account'))

    op.drop_table('desk_fills')
    with op.batch_alter_table('desk_equity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_desk_equity_at'))

    op.drop_table('desk_equity')
