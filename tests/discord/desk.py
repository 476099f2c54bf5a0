"""The Discord tests' (and benchmark's) desk: members with Discord ids, and the bot on the fake Discord.

The desk is tests/chat_desk.py's, on SQLite or PostgreSQL, with the paper exchange set up like the
Telegram tests' (manual clock, static prices, zero fees, 20000 USDT cross) plus ETHUSDT. erin has
only a Telegram id, and mallory is not on the desk at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from adapters.discord import DiscordBot
from chatbot.config import MemberConfig, PaperConfig
from chatbot.core import DeskCore
from tests.chat_desk import open_chat_core
from tests.fakes.discord import FakeDiscord

MakeBot = Callable[..., Awaitable[DiscordBot]]  # the `make_bot` fixture (tests/chat_fixtures.py)
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


async def open_core(url: str, *, members: list[MemberConfig] | None = None, **kw: Any) -> DeskCore:
    """A started core on a migrated database (see `open_chat_core` for the options)."""
    return await open_chat_core(url, PAPER, MEMBERS if members is None else members, **kw)


def new_bot(core: DeskCore, fake: FakeDiscord, **kw: Any) -> DiscordBot:
    kw.setdefault("connect_timeout", 5.0)
    return DiscordBot(core, fake.token, api_base_url=fake.api_base_url, gateway_url=fake.gateway_url, **kw)
