"""Building blocks for the Telegram tests and benchmark: a desk core on the paper exchange, the bot.

Migrating takes ~0.5 s, so one migrated template database is copied for every desk. The paper
exchange is set up as in tests/core/desk.py (manual clock, static prices, zero fees, 20000 USDT cross).
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

from telegram.ext import AIORateLimiter

from adapters.paper import PaperExchange
from adapters.telegram import TelegramBot
from chatbot.config import ChannelConfig, DeskConfig, MemberConfig, PaperConfig, PolicyConfig
from chatbot.core import DeskCore
from chatbot.store import migrate
from chatbot.store.db import make_engine
from tests.core.desk import AUDIT_KEY
from tests.fakes.telegram import FakeTelegram

ALICE, BOB, CAROL, DAVE, MALLORY = 1001, 1002, 1003, 1004, 6666  # mallory is not on the desk
MEMBERS = [
    MemberConfig(name="alice", role="admin", telegram_id=ALICE),
    MemberConfig(name="bob", role="admin", telegram_id=BOB),
    MemberConfig(name="carol", role="trader", telegram_id=CAROL),
    MemberConfig(name="dave", role="viewer", telegram_id=DAVE),
    MemberConfig(name="erin", role="trader", discord_id=5005),  # no Telegram id: no menu scope, no DMs
]
PAPER = PaperConfig(
    prices={"BTCUSDT": Decimal("35000")},
    daily_interest_rates={"BTC": Decimal("0.00024"), "USDT": Decimal("0.00024")},
    cross={"USDT": Decimal("20000")}, taker_fee=Decimal("0"), maker_fee=Decimal("0"),
)


def migrated_template(directory: Path) -> Path:
    path = directory / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


async def open_core(template: Path, directory: Path, *, policy: PolicyConfig | None = None, paper: bool = False,
                    members: list[MemberConfig] | None = None,
                    channels: list[ChannelConfig] | None = None) -> DeskCore:
    db = directory / "desk.db"
    shutil.copy(template, db)
    engine = make_engine(f"sqlite:///{db}")
    exchange = await PaperExchange.open(engine, PAPER)
    desk = DeskConfig(members=MEMBERS if members is None else members, policy=policy or PolicyConfig(),
                      channels=channels or [], paper=PAPER)
    core = DeskCore(engine=engine, exchange=exchange, desk=desk, audit_key=AUDIT_KEY)
    # Unless `paper=True`, the paper engine stands in for a live exchange: no drills in menus or /help.
    core.services.paper = paper
    await core.start()
    return core


def new_bot(core: DeskCore, fake: FakeTelegram, **kw: Any) -> TelegramBot:
    kw.setdefault("rate_limiter", AIORateLimiter(max_retries=2))
    kw.setdefault("poll_timeout", 2)
    return TelegramBot(core, fake.token, base_url=fake.base_url, **kw)
