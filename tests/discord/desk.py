"""Building blocks for the Discord tests and benchmark: a desk core on the paper exchange, the bot.

Like tests/telegram/desk.py (manual clock, static prices, zero fees, 20000 USDT cross), on SQLite
(a migrated template copied per desk, since migrating takes ~0.5 s) or on PostgreSQL. Members carry
Discord ids; erin has only a Telegram id, and mallory is not on the desk at all.
"""

from __future__ import annotations

import shutil
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.discord import DiscordBot
from adapters.paper import PaperExchange
from chatbot.config import ChannelConfig, DeskConfig, MemberConfig, PaperConfig, PolicyConfig
from chatbot.core import DeskCore
from chatbot.store import migrate
from chatbot.store.db import make_engine
from tests.core.desk import AUDIT_KEY
from tests.fakes.discord import FakeDiscord

ALICE, BOB, CAROL, DAVE, MALLORY = 2001, 2002, 2003, 2004, 6666
MEMBERS = [
    MemberConfig(name="alice", role="admin", discord_id=ALICE, telegram_id=1001),
    MemberConfig(name="bob", role="admin", discord_id=BOB),
    MemberConfig(name="carol", role="trader", discord_id=CAROL),
    MemberConfig(name="dave", role="viewer", discord_id=DAVE),
    MemberConfig(name="erin", role="trader", telegram_id=1005),  # no Discord id: no DMs here
]
PAPER = PaperConfig(
    prices={"BTCUSDT": Decimal("35000"), "ETHUSDT": Decimal("2000")},
    daily_interest_rates={"BTC": Decimal("0.00024"), "ETH": Decimal("0.00024"), "USDT": Decimal("0.00024")},
    cross={"USDT": Decimal("20000")}, taker_fee=Decimal("0"), maker_fee=Decimal("0"),
)


def migrated_template(directory: Path) -> Path:
    path = directory / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def sqlite_copy(template: Path, directory: Path) -> str:
    """A fresh, migrated SQLite database (a copy of the template)."""
    path = directory / f"desk-{uuid.uuid4().hex[:8]}.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


async def open_core(url: str, *, policy: PolicyConfig | None = None, paper: bool = False,
                    members: list[MemberConfig] | None = None, channels: list[ChannelConfig] | None = None,
                    migrate_first: bool = False) -> DeskCore:
    """A core on a database that already holds the schema (pass `migrate_first` for a blank one)."""
    if migrate_first:
        migrate.upgrade(url)
    engine = make_engine(url)
    exchange = await PaperExchange.open(engine, PAPER)
    desk = DeskConfig(members=MEMBERS if members is None else members, policy=policy or PolicyConfig(),
                      channels=channels or [], paper=PAPER)
    core = DeskCore(engine=engine, exchange=exchange, desk=desk, audit_key=AUDIT_KEY)
    # Unless `paper=True`, the paper engine stands in for a live exchange: no drills.
    core.services.paper = paper
    await core.start()
    return core


def new_bot(core: DeskCore, fake: FakeDiscord, **kw: Any) -> DiscordBot:
    kw.setdefault("connect_timeout", 5.0)
    return DiscordBot(core, fake.token, api_base_url=fake.api_base_url, gateway_url=fake.gateway_url, **kw)
