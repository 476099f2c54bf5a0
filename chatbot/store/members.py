"""Desk members: synced from the TOML at start-up, looked up by immutable platform user id.

Deny by default: an actor is a member only if their numeric Telegram/Discord id (or, on the
local console, their name) belongs to an active member. A member's identity is their row id:
revoking keeps the row (inactive, platform ids cleared) and granting the same name again makes a
new row, so nothing bound to the old member (a prompt, an approval) ever answers to the new one.
Names are case-insensitive: they are stored lower-case.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from chatbot.config import MemberConfig
from chatbot.replies import Actor
from chatbot.store.db import on_conflict_retry, session_scope
from chatbot.store.tables import Member
from chatbot.workers import call_on_home

log = logging.getLogger(__name__)


def member_name(name: str) -> str:
    """The one spelling of a member name: lower-case, surrounding blanks removed."""
    return name.strip().lower()


@dataclass(frozen=True)
class DeskMember:
    name: str
    role: str
    telegram_id: int | None
    discord_id: int | None
    source: str
    max_leverage: Decimal | None
    id: int = 0
    active: bool = True

    @classmethod
    def of(cls, row: Member) -> DeskMember:
        assert row.id is not None
        return cls(row.name, row.role, row.telegram_id, row.discord_id, row.source, row.max_leverage, row.id,
                   row.active)


class MemberStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._on_change: list[Callable[[], None]] = []

    def on_change(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Call `hook` after every grant or revoke (adapters refresh their command menus), on the home
        event loop where the adapters live; returns an un-subscriber."""
        self._on_change.append(hook)
        return lambda: self._on_change.remove(hook)

    def _changed(self) -> None:
        for hook in list(self._on_change):
            call_on_home(hook)

    def sync_from_config(self, members: list[MemberConfig]) -> list[str]:
        """TOML members are always present with the TOML's role and ids; the TOML wins every conflict.

        A member granted from chat whose name or platform id the TOML now uses is revoked (never a
        failed start-up). Returns one line per such conflict, for the start-up log.
        """
        return on_conflict_retry(lambda: self._sync(members))

    def _sync(self, members: list[MemberConfig]) -> list[str]:
        conflicts: list[str] = []
        now = datetime.now(UTC)
        wanted = {member_name(c.name): c for c in members}
        with session_scope(self.engine) as s:
            active = list(s.execute(select(Member).where(col(Member.active).is_(True))).scalars())
            toml_tg = {c.telegram_id for c in members if c.telegram_id is not None}
            toml_dc = {c.discord_id for c in members if c.discord_id is not None}
            for row in active:
                if row.source == "toml" and row.name not in wanted:
                    self._retire(row, now)  # removed from the TOML
                    continue
                if row.source == "toml":
                    continue
                if row.name in wanted:
                    conflicts.append(f"member {row.name!r} granted from chat is replaced by the TOML's {row.name!r}")
                    self._retire(row, now)
                elif row.telegram_id in toml_tg or row.discord_id in toml_dc:
                    conflicts.append(f"member {row.name!r} granted from chat shares a platform id with a TOML "
                                     "member; revoked")
                    self._retire(row, now)
            # Inactive rows never hold platform ids, so the TOML's ids are free now.
            s.flush()
            by_name = {r.name: r for r in active if r.active}
            for name, c in wanted.items():
                row = by_name.get(name) or Member(name=name, role=c.role)
                row.role, row.telegram_id, row.discord_id = c.role, c.telegram_id, c.discord_id
                row.source, row.active, row.max_leverage = "toml", True, c.max_leverage
                s.add(row)
        for line in conflicts:
            log.warning("desk TOML: %s", line)
        return conflicts

    @staticmethod
    def _retire(row: Member, now: datetime) -> None:
        row.active, row.telegram_id, row.discord_id, row.revoked_at = False, None, None, now

    def identify(self, actor: Actor) -> DeskMember | None:
        with session_scope(self.engine) as s:
            stmt = select(Member).where(col(Member.active).is_(True))
            if actor.platform == "telegram" and actor.user_id.isascii() and actor.user_id.isdigit():
                stmt = stmt.where(col(Member.telegram_id) == int(actor.user_id))
            elif actor.platform == "discord" and actor.user_id.isascii() and actor.user_id.isdigit():
                stmt = stmt.where(col(Member.discord_id) == int(actor.user_id))
            elif actor.platform == "console":
                stmt = stmt.where(col(Member.name) == member_name(actor.user_id))
            else:
                return None
            row = s.execute(stmt).scalars().first()
            return DeskMember.of(row) if row else None

    def get(self, name: str) -> DeskMember | None:
        """The active member with this name."""
        with session_scope(self.engine) as s:
            row = s.execute(select(Member).where(col(Member.name) == member_name(name),
                                                 col(Member.active).is_(True))).scalars().first()
            return DeskMember.of(row) if row else None

    def by_id(self, member_id: int | None) -> DeskMember | None:
        """The member with this identity, active or not (None for an unknown id)."""
        if member_id is None:
            return None
        with session_scope(self.engine) as s:
            row = s.get(Member, member_id)
            return DeskMember.of(row) if row else None

    def all(self) -> list[DeskMember]:
        with session_scope(self.engine) as s:
            rows = s.execute(select(Member).where(col(Member.active).is_(True)).order_by(col(Member.name))).scalars()
            return [DeskMember.of(r) for r in rows]

    def admins(self) -> list[DeskMember]:
        return [m for m in self.all() if m.role == "admin"]

    def grant(self, name: str, role: str, telegram_id: int | None, discord_id: int | None) -> DeskMember:
        """Change an active member's role (and ids), or add a new member (a new identity)."""
        with session_scope(self.engine) as s:
            row = s.execute(select(Member).where(col(Member.name) == member_name(name),
                                                 col(Member.active).is_(True))).scalars().first()
            if row is None:
                row = Member(name=member_name(name), role=role, source="chat")
            row.role = role
            if telegram_id is not None:
                row.telegram_id = telegram_id
            if discord_id is not None:
                row.discord_id = discord_id
            s.add(row)
            s.flush()
            granted = DeskMember.of(row)
        self._changed()
        return granted

    def revoke(self, member_id: int) -> None:
        with session_scope(self.engine) as s:
            row = s.get(Member, member_id)
            if row is not None and row.active:
                self._retire(row, datetime.now(UTC))
        self._changed()
