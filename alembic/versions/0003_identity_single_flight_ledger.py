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

import itertools
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite keeps 0001's unique constraints unnamed: name them on reflection so batch mode can drop them.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
TS = sa.DateTime(timezone=True)
log = logging.getLogger("chatbot.migrations")  # not under "alembic", whose NullHandler would swallow it


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
    _resolve_older_open_incidents()
    with op.batch_alter_table('alert_incidents', schema=None) as batch_op:
        batch_op.create_index('uq_alert_incidents_open', ['account', 'kind'], unique=True,
                              sqlite_where=sa.text('resolved_at IS NULL'),
                              postgresql_where=sa.text('resolved_at IS NULL'))

    _release_duplicate_claims()
    # uq_intents_flight_key needs nothing: flight_key is new here, NULL in every existing row.
    with op.batch_alter_table('intents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('flight_key', sa.String(length=96), nullable=True))
        batch_op.create_unique_constraint('uq_intents_claim', ['kind', 'exchange_ref'])
        batch_op.create_unique_constraint('uq_intents_flight_key', ['flight_key'])

    # The old unique name goes first: "Alice" and "alice" were two names until they are lower-cased.
    with op.batch_alter_table('members', schema=None, naming_convention=NAMING) as batch_op:
        _drop_unique_name(batch_op)
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))
    _revoke_younger_active_namesakes()
    op.execute("UPDATE members SET name = lower(name)")
    with op.batch_alter_table('members', schema=None) as batch_op:
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


# Nothing before 0003 prevented the rows its unique indexes forbid: each is resolved, deterministically,
# just before its index is created, so an upgrade never fails on them. Nothing is deleted.

def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(tzinfo=None) if op.get_bind().dialect.name == "sqlite" else now  # as UtcDateTime


def _offline() -> bool:
    """`alembic upgrade --sql` cannot read rows: its script resolves nothing (the indexes may then fail)."""
    if context.is_offline_mode():
        log.warning("0003 --sql: rows breaking the new unique indexes are not resolved in an offline script")
        return True
    return False


def _noted(text: str, note: str) -> str:
    return f"{text}; {note}" if text else note


def _resolve_older_open_incidents() -> None:
    """uq_alert_incidents_open: the newest open incident of an account and kind stays open, the older
    ones are resolved now, with a note in `detail`."""
    if _offline():
        return
    t = sa.table('alert_incidents', sa.column('id', sa.Integer), sa.column('account', sa.String),
                 sa.column('kind', sa.String), sa.column('opened_at', TS), sa.column('detail', sa.String),
                 sa.column('resolved_at', TS))
    bind = op.get_bind()
    rows = bind.execute(sa.select(t.c.id, t.c.account, t.c.kind, t.c.detail).where(t.c.resolved_at.is_(None))
                        .order_by(t.c.account, t.c.kind, t.c.opened_at.desc(), t.c.id.desc())).all()
    now = _now()
    for (account, kind), group in itertools.groupby(rows, key=lambda r: (r.account, r.kind)):
        keep, *older = group
        if not older:
            continue
        note = f"resolved by the 0003 upgrade: #{keep.id}, opened later, is the open {kind} incident of {account}"
        for row in older:
            bind.execute(sa.update(t).where(t.c.id == row.id).values(resolved_at=now, detail=_noted(row.detail, note)))
        log.warning("0003: %d open %s incidents of %s: kept the newest #%s, resolved %s", len(older) + 1, kind,
                    account, keep.id, ", ".join(f"#{r.id}" for r in older))


def _release_duplicate_claims() -> None:
    """uq_intents_claim: an exchange record (kind, exchange_ref) claimed by several intents stays with
    the oldest; the others keep their row, state and result, release the claim (`exchange_ref` NULL)
    and say so in `error`."""
    if _offline():
        return
    t = sa.table('intents', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                 sa.column('exchange_ref', sa.String), sa.column('error', sa.String), sa.column('created_at', TS))
    dup = (sa.select(t.c.kind, t.c.exchange_ref).where(t.c.exchange_ref.is_not(None))
           .group_by(t.c.kind, t.c.exchange_ref).having(sa.func.count() > 1).subquery())
    bind = op.get_bind()
    rows = bind.execute(sa.select(t.c.id, t.c.kind, t.c.exchange_ref, t.c.error)
                        .select_from(t.join(dup, sa.and_(t.c.kind == dup.c.kind, t.c.exchange_ref == dup.c.exchange_ref)))
                        .order_by(t.c.kind, t.c.exchange_ref, t.c.created_at, t.c.id)).all()
    for (kind, ref), group in itertools.groupby(rows, key=lambda r: (r.kind, r.exchange_ref)):
        keep, *others = group
        note = f"0003 upgrade: released the claim on {kind} record {ref}, which intent #{keep.id} holds"
        for row in others:
            bind.execute(sa.update(t).where(t.c.id == row.id).values(exchange_ref=None, error=_noted(row.error, note)))
        log.warning("0003: %s record %s was claimed by intents %s: #%s keeps it, the others keep their history "
                    "but no claim", kind, ref, ", ".join(f"#{r.id}" for r in (keep, *others)), keep.id)


def _revoke_younger_active_namesakes() -> None:
    """uq_members_active_name: of the active members whose names are equal once lower-cased, the oldest
    stays; the others are revoked as `Members.revoke` does (inactive, platform ids cleared), with a warning."""
    if _offline():
        return
    t = sa.table('members', sa.column('id', sa.Integer), sa.column('name', sa.String),
                 sa.column('telegram_id', sa.BigInteger), sa.column('discord_id', sa.BigInteger),
                 sa.column('active', sa.Boolean), sa.column('created_at', TS), sa.column('revoked_at', TS))
    folded = sa.func.lower(t.c.name)  # the database's lower(), as in the UPDATE that follows
    bind = op.get_bind()
    rows = bind.execute(sa.select(t.c.id, t.c.name, folded.label('folded'), t.c.telegram_id, t.c.discord_id)
                        .where(t.c.active.is_(True)).order_by(folded, t.c.created_at, t.c.id)).all()
    now = _now()
    for name, group in itertools.groupby(rows, key=lambda r: r.folded):
        keep, *younger = group
        if not younger:
            continue
        for row in younger:
            bind.execute(sa.update(t).where(t.c.id == row.id)
                         .values(active=False, telegram_id=None, discord_id=None, revoked_at=now))
        revoked = ", ".join(f"{r.name!r} #{r.id} (telegram {r.telegram_id}, discord {r.discord_id})" for r in younger)
        log.warning("0003: active members share the name %r: kept the oldest, %r #%s; revoked %s", name, keep.name,
                    keep.id, revoked)
