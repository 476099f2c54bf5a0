"""How the chat-adapter tests and benchmarks get a desk: a migrated database and a core on the paper exchange.

Why it exists: the Telegram and Discord tests need the same desk apart from their members and
prices (tests/telegram/desk.py, tests/discord/desk.py say which); this is the rest, once. Migrating
takes ~0.5 s, so one migrated template database is copied for every SQLite desk; PostgreSQL desks
are migrated in place. Unless a test asks for `paper=True`, the paper exchange stands in for a live
one: no drills in menus or /help.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from adapters.paper import PaperExchange
from chatbot.config import ChannelConfig, DeskConfig, MemberConfig, PaperConfig, PolicyConfig
from chatbot.core import DeskCore
from chatbot.store import migrate
from chatbot.store.db import make_engine
from tests.core.desk import AUDIT_KEY

MakeCore = Callable[..., Awaitable[DeskCore]]  # the `make_core` fixture (tests/chat_fixtures.py)


def migrated_template(directory: Path) -> Path:
    path = directory / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def sqlite_copy(template: Path, directory: Path) -> str:
    """A fresh, migrated SQLite database (a copy of the template)."""
    path = directory / f"desk-{uuid.uuid4().hex[:8]}.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


async def open_chat_core(url: str, prices: PaperConfig, members: list[MemberConfig], *,
                         policy: PolicyConfig | None = None, paper: bool = False,
                         channels: list[ChannelConfig] | None = None, migrate_first: bool = False) -> DeskCore:
    """A started core on a database that already holds the schema (pass `migrate_first` for a blank one)."""
    if migrate_first:
        migrate.upgrade(url)
    engine = make_engine(url)
    exchange = await PaperExchange.open(engine, prices)
    desk = DeskConfig(members=members, policy=policy or PolicyConfig(), channels=channels or [], paper=prices)
    core = DeskCore(engine=engine, exchange=exchange, desk=desk, audit_key=AUDIT_KEY)
    core.services.paper = paper
    await core.start()
    return core
