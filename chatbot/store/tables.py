"""The core's SQLModel tables: members, pending actions, intents, audit log, desk state, events.

Money columns use `Money` (exact on SQLite and PostgreSQL); times are aware UTC. Migrations
live in `alembic/versions` and are generated from this metadata (see `alembic/env.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from chatbot.store.types import Money, UtcDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(UtcDateTime(), nullable=nullable)


class Member(SQLModel, table=True):
    """A desk member. TOML members are synced at start-up; admins may grant more from chat.

    The row id is the member's identity: prompts and approvals are bound to it, never to the name.
    A revoked member keeps their row (inactive, platform ids cleared) and granting the name again
    creates a new row, so a new account can never answer the old member's prompts. Names are
    lower-case and unique among active members.
    """

    __tablename__ = "members"
    __table_args__ = (
        sa.Index("uq_members_active_name", "name", unique=True,
                 sqlite_where=sa.text("active"), postgresql_where=sa.text("active")),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    role: str = Field(max_length=16)
    telegram_id: int | None = Field(default=None, sa_type=sa.BigInteger, unique=True)
    discord_id: int | None = Field(default=None, sa_type=sa.BigInteger, unique=True)
    source: str = Field(default="toml", max_length=16)  # toml | chat
    active: bool = True
    max_leverage: Decimal | None = Field(default=None, sa_type=Money)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class PendingAction(SQLModel, table=True):
    """A leverage change waiting for its requester's confirmation and maybe an admin's approval."""

    __tablename__ = "pending_actions"
    id: int | None = Field(default=None, primary_key=True)
    short_id: str = Field(max_length=12, unique=True)  # what people type: /confirm 7f3a
    nonce: str = Field(max_length=32, unique=True)  # what buttons carry
    requester: str = Field(max_length=64, index=True)  # the name, for display
    requester_id: int | None = Field(default=None, sa_column=sa.Column(  # the identity
        sa.Integer, sa.ForeignKey("members.id", name="fk_pending_requester"), index=True, nullable=True))
    command: str = Field(max_length=32)
    params_json: str
    params_hash: str = Field(max_length=64)
    preview_json: str
    state: str = Field(max_length=24, index=True)
    needs_approval: bool = False
    approval_reasons: str = ""
    approver: str | None = Field(default=None, max_length=64)
    approver_id: int | None = Field(default=None, sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("members.id", name="fk_pending_approver"), nullable=True))
    note: str = ""  # rejection reason, failure message
    owner: str | None = Field(default=None, max_length=32)  # the process executing it (desk_processes)
    told_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))  # requester told the outcome
    origin_platform: str = Field(default="console", max_length=16)
    origin_chat: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Intent(SQLModel, table=True):
    """An exchange call, written before it is sent; `client_id` is derived from the row.

    `owner` is the process that sends it (`desk_processes`): only a dead owner's intents are
    reconciled by others. `flight_key` makes loans single-flight per account and asset (a unique
    value while the loan is in flight, NULL once settled). A record on the exchange (an order id,
    a loan's tranId) is claimed by at most one intent (`uq_intents_claim`).
    """

    __tablename__ = "intents"
    __table_args__ = (sa.UniqueConstraint("kind", "exchange_ref", name="uq_intents_claim"),
                      sa.UniqueConstraint("flight_key", name="uq_intents_flight_key"))
    id: int | None = Field(default=None, primary_key=True)
    pending_id: int | None = Field(default=None, foreign_key="pending_actions.id", index=True)
    client_id: str = Field(max_length=36, unique=True)
    kind: str = Field(max_length=16)  # order | borrow | repay | transfer
    params_json: str
    state: str = Field(max_length=16, index=True)  # SUBMITTING DONE REJECTED UNKNOWN NOT_SENT
    owner: str | None = Field(default=None, max_length=32)
    flight_key: str | None = Field(default=None, max_length=96)
    exchange_ref: str | None = Field(default=None, max_length=64)
    result_json: str = ""
    error: str = ""
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class AuditEntry(SQLModel, table=True):
    """Append-only, hash-chained audit log. `prev_hash` is unique, so the chain cannot fork."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_ts())
    actor: str = Field(max_length=96)  # platform:user_id, or "system"
    member: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=48, index=True)
    outcome: str = Field(max_length=24)
    detail_json: str = ""
    prev_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)


class DeskState(SQLModel, table=True):
    """Small persisted desk-wide facts, e.g. the kill switch (`halt`)."""

    __tablename__ = "desk_state"
    key: str = Field(primary_key=True, max_length=32)
    value_json: str
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class ProcessedEvent(SQLModel, table=True):
    """Inbound platform events already handled (update_id, interaction id): a redelivery runs once."""

    __tablename__ = "processed_events"
    event_id: str = Field(primary_key=True, max_length=96)
    at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    reply_title: str = ""


class ChannelSubscription(SQLModel, table=True):
    """A chat channel subscribed to one kind of notice (margin, interest, approvals, system)."""

    __tablename__ = "channel_subscriptions"
    __table_args__ = (sa.UniqueConstraint("platform", "channel_id", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    channel_id: str = Field(max_length=64)
    topic_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    kind: str = Field(max_length=16)
    mode: str = Field(max_length=8)  # on | silent | off


class DeskProcess(SQLModel, table=True):
    """Every running bot process on this database, with a heartbeat.

    Work in flight (an intent being sent, a request executing) names its process; when that process
    is gone (stopped, its pid dead on this host, or its heartbeat stale), any other process may
    reconcile the work. A live process's in-flight work is never touched by another.
    """

    __tablename__ = "desk_processes"
    instance_id: str = Field(primary_key=True, max_length=32)
    host: str = Field(max_length=128)
    pid: int
    started_at: datetime = Field(sa_column=_ts())
    heartbeat_at: datetime = Field(sa_column=_ts())
    stopped_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
