"""order watch claims: desk_orders.claimed_at

A check that claimed an order's final status writes the time it did (`claimed_at`) and marks the row
told (`told_status`) only once the message reached someone. A claim whose process died before telling
expires, so a later check tells instead of nobody ever doing so. Nullable: existing rows are unclaimed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('desk_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('desk_orders', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
