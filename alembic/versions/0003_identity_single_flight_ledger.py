"""identity-bound prompts, single-flight intents, processes, one paper ledger, delivered incidents

- members: names unique among ACTIVE members only (a revoked name granted again is a new member,
  a new id), `revoked_at`.
- pending_actions: bound to member ids (`requester_id`, `approver_id`), the executing process
  (`owner`) and when the requester was told the outcome (`told_at`).
- intents: the sending process (`owner`), single-flight loans (`flight_key`), one claim per
  exchange record (`uq_intents_claim`).
- desk_processes: every running process with a heartbeat.
- paper_state.revision: one paper ledger for every process on the database.
- alert_incidents: a kind (margin | liquidation), a detail, at most one open per account and
  kind, and `last_notified_at` empty until a notification was delivered.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 11:45:57.298605
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite keeps 0001's unique constraints unnamed: name them on reflection so batch mode can drop them.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _drop_unique_name(batch_op: object) -> None:
    name = "uq_members_name" if op.get_bind().dialect.name == "sqlite" else "members_name_key"
    batch_op.drop_constraint(name, type_="unique")  # type: ignore[attr-defined]


def upgrade() -> None:
    op.create_table('desk_processes',
    sa.Column('instance_id', sa.String(length=32), nullable=False),
    sa.Column('host', sa.String(length=128), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('instance_id')
    )
    with op.batch_alter_table('alert_incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='margin'))
        batch_op.add_column(sa.Column('detail', sa.String(), nullable=False, server_default=''))
        batch_op.alter_column('last_notified_at', existing_type=sa.DateTime(timezone=True), nullable=True)
        batch_op.create_index('uq_alert_incidents_open', ['account', 'kind'], unique=True,
                              sqlite_where=sa.text('resolved_at IS NULL'),
                              postgresql_where=sa.text('resolved_at IS NULL'))

    with op.batch_alter_table('intents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('flight_key', sa.String(length=96), nullable=True))
        batch_op.create_unique_constraint('uq_intents_claim', ['kind', 'exchange_ref'])
        batch_op.create_unique_constraint('uq_intents_flight_key', ['flight_key'])

    op.execute("UPDATE members SET name = lower(name)")
    with op.batch_alter_table('members', schema=None, naming_convention=NAMING) as batch_op:
        _drop_unique_name(batch_op)
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('uq_members_active_name', ['name'], unique=True, sqlite_where=sa.text('active'),
                              postgresql_where=sa.text('active'))

    with op.batch_alter_table('paper_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.BigInteger(), server_default='0', nullable=False))

    with op.batch_alter_table('pending_actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requester_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approver_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('owner', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('told_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_pending_actions_requester_id'), ['requester_id'], unique=False)
        batch_op.create_foreign_key('fk_pending_approver', 'members', ['approver_id'], ['id'])
        batch_op.create_foreign_key('fk_pending_requester', 'members', ['requester_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('pending_actions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_pending_requester', type_='foreignkey')
        batch_op.drop_constraint('fk_pending_approver', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_pending_actions_requester_id'))
        batch_op.drop_column('told_at')
        batch_op.drop_column('owner')
        batch_op.drop_column('approver_id')
        batch_op.drop_column('requester_id')

    with op.batch_alter_table('paper_state', schema=None) as batch_op:
        batch_op.drop_column('revision')

    op.execute("DELETE FROM members WHERE NOT active")  # 0002's schema has one row per name
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('uq_members_active_name', sqlite_where=sa.text('active'),
                            postgresql_where=sa.text('active'))
        batch_op.drop_column('revoked_at')
        batch_op.create_unique_constraint('members_name_key', ['name'])

    with op.batch_alter_table('intents', schema=None) as batch_op:
        batch_op.drop_constraint('uq_intents_flight_key', type_='unique')
        batch_op.drop_constraint('uq_intents_claim', type_='unique')
        batch_op.drop_column('flight_key')
        batch_op.drop_column('owner')

    op.execute("DELETE FROM alert_incidents WHERE last_notified_at IS NULL")
    with op.batch_alter_table('alert_incidents', schema=None) as batch_op:
        batch_op.drop_index('uq_alert_incidents_open', sqlite_where=sa.text('resolved_at IS NULL'),
                            postgresql_where=sa.text('resolved_at IS NULL'))
        batch_op.alter_column('last_notified_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_column('detail')
        batch_op.drop_column('kind')

    op.drop_table('desk_processes')
