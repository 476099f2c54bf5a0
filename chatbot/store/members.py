"""Desk members: synced from the TOML at start-up, looked up by immutable platform user id.

Deny by default: an actor is a member only if their numeric Telegram/Discord id (or, on the
local console, their name) belongs to an active member.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.engine import Engine

from chatbot.config import MemberConfig
from chatbot.replies import Actor
from chatbot.store.db import session_scope
from chatbot.store.tables import Member


@dataclass(frozen=True)
class DeskMember:
    name: str
    role: str
    telegram_id: int | None
    discord_id: int | None
    source: str
    max_leverage: Decimal | None

    @classmethod
    def of(cls, row: Member) -> DeskMember:
        return cls(row.name, row.role, row.telegram_id, row.discord_id, row.source, row.max_leverage)


class MemberStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def sync_from_config(self, members: list[MemberConfig]) -> None:
        """TOML members are always present with the TOML's role and ids."""
        with session_scope(self.engine) as s:
            existing = {m.name.lower(): m for (m,) in s.execute(select(Member))}
            # Free ids that TOML now assigns to someone else first, so unique constraints hold.
            toml_ids = {(c.telegram_id, c.discord_id) for c in members}
            claimed_tg = {t for t, _ in toml_ids if t is not None}
            claimed_dc = {d for _, d in toml_ids if d is not None}
            for row in existing.values():
                if row.name.lower() in {c.name.lower() for c in members}:
                    continue
                if row.telegram_id in claimed_tg:
                    row.telegram_id = None
                if row.discord_id in claimed_dc:
                    row.discord_id = None
            s.flush()
            for c in members:
                row = existing.get(c.name.lower()) or Member(name=c.name, role=c.role)
                row.role, row.telegram_id, row.discord_id = c.role, c.telegram_id, c.discord_id
                row.source, row.active, row.max_leverage = "toml", True, c.max_leverage
                s.add(row)

    def identify(self, actor: Actor) -> DeskMember | None:
        with session_scope(self.engine) as s:
            stmt = select(Member).where(Member.active.is_(True))  # type: ignore[attr-defined]
            if actor.platform == "telegram" and actor.user_id.isdigit():
                stmt = stmt.where(Member.telegram_id == int(actor.user_id))
            elif actor.platform == "discord" and actor.user_id.isdigit():
                stmt = stmt.where(Member.discord_id == int(actor.user_id))
            elif actor.platform == "console":
                stmt = stmt.where(Member.name == actor.user_id)
            else:
                return None
            row = s.execute(stmt).scalars().first()
            return DeskMember.of(row) if row else None

    def get(self, name: str) -> DeskMember | None:
        with session_scope(self.engine) as s:
            row = s.execute(select(Member).where(Member.name == name, Member.active.is_(True))).scalars().first()  # type: ignore[attr-defined]
            return DeskMember.of(row) if row else None

    def all(self) -> list[DeskMember]:
        with session_scope(self.engine) as s:
            rows = s.execute(select(Member).where(Member.active.is_(True)).order_by(Member.name)).scalars()  # type: ignore[attr-defined]
            return [DeskMember.of(r) for r in rows]

    def admins(self) -> list[DeskMember]:
        return [m for m in self.all() if m.role == "admin"]

    def grant(self, name: str, role: str, telegram_id: int | None, discord_id: int | None) -> DeskMember:
        with session_scope(self.engine) as s:
            row = s.execute(select(Member).where(Member.name == name)).scalars().first()
            if row is None:
                row = Member(name=name, role=role, source="chat")
            row.role, row.active = role, True
            if telegram_id is not None:
                row.telegram_id = telegram_id
            if discord_id is not None:
                row.discord_id = discord_id
            s.add(row)
            s.flush()
            return DeskMember.of(row)

    def revoke(self, name: str) -> None:
        with session_scope(self.engine) as s:
            row = s.execute(select(Member).where(Member.name == name)).scalars().first()
            if row is not None:
                row.active = False
                row.telegram_id = None
                row.discord_id = None
