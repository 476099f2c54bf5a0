"""The Telegram tests' (and benchmark's) desk: members with Telegram ids, and the bot on the fake Bot API.

The desk is tests/chat_desk.py's on the paper exchange of tests/core/desk.py (manual clock, static
prices, zero fees, 20000 USDT cross). erin has only a Discord id; mallory is not on the desk at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram.ext import AIORateLimiter

from adapters.telegram import TelegramBot
from chatbot.config import MemberConfig
from chatbot.core import DeskCore
from tests.chat_desk import open_chat_core
from tests.core.desk import PAPER
from tests.fakes.telegram import FakeTelegram

MakeBot = Callable[..., Awaitable[TelegramBot]]  # the `make_bot` fixture (tests/chat_fixtures.py)
ALICE, BOB, CAROL, DAVE, MALLORY = 1001, 1002, 1003, 1004, 6666  # mallory is not on the desk
MEMBERS = [
    MemberConfig(name="alice", role="admin", telegram_id=ALICE),
    MemberConfig(name="bob", role="admin", telegram_id=BOB),
    MemberConfig(name="carol", role="trader", telegram_id=CAROL),
    MemberConfig(name="dave", role="viewer", telegram_id=DAVE),
    MemberConfig(name="erin", role="trader", discord_id=5005),  # no Telegram id: no menu scope, no DMs
]


async def open_core(url: str, *, members: list[MemberConfig] | None = None, **kw: Any) -> DeskCore:
    """A started core on a migrated database (see `open_chat_core` for the options)."""
    return await open_chat_core(url, PAPER, MEMBERS if members is None else members, **kw)


def new_bot(core: DeskCore, fake: FakeTelegram, **kw: Any) -> TelegramBot:
    kw.setdefault("rate_limiter", AIORateLimiter(max_retries=2))
    kw.setdefault("poll_timeout", 2)
    return TelegramBot(core, fake.token, base_url=fake.base_url, **kw)
