"""Test desk: a migrated database, the paper exchange (manual clock, static prices) and the core.

A `FakeClock` drives the core's clock (prompt expiry); the paper exchange has its own clock,
advanced by `/clock` or `advance()` as in drills. `short_id`, `borrowed` and `intents` read back
what tests assert on (the chat tests use `borrowed` on their cores too).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from adapters.console import run_console
from adapters.paper import PaperExchange
from chatbot.config import DeskConfig, MemberConfig, PaperConfig, PolicyConfig
from chatbot.core import DeskCore
from chatbot.replies import Actor, Reply, Request
from chatbot.store import migrate
from chatbot.store.db import make_engine
from chatbot.store.tables import Intent

MEMBERS = [
    MemberConfig(name="alice", role="admin", telegram_id=1001, discord_id=2001),
    MemberConfig(name="bob", role="admin", telegram_id=1002),
    MemberConfig(name="carol", role="trader", telegram_id=1003),
    MemberConfig(name="dave", role="viewer", telegram_id=1004),
]
PAPER = PaperConfig(
    prices={"BTCUSDT": Decimal("35000")},
    daily_interest_rates={"BTC": Decimal("0.00024"), "USDT": Decimal("0.00024")},
    cross={"USDT": Decimal("20000")}, taker_fee=Decimal("0"), maker_fee=Decimal("0"),
)
ID_RE = re.compile(r"\[([0-9a-f]{6})\]")
AUDIT_KEY = b"test-audit-key-0123456789"  # the desk's audit key in tests (never the database's to hold)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, 0, 10, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class DeskUnderTest:
    url: str
    core: DeskCore
    exchange: PaperExchange
    clock: FakeClock

    async def say(self, who: str, text: str, **kw: Any) -> Reply:
        return await self.core.handle(Request(actor=Actor("console", who), text=text, **kw))

    async def say_as_telegram(self, user_id: int, text: str, **kw: Any) -> Reply:
        """What the Telegram adapter hands the core for a message from `user_id`."""
        return await self.core.handle(Request(actor=Actor("telegram", str(user_id)), text=text, **kw))

    async def press_as_telegram(self, user_id: int, token: str) -> Reply:
        return await self.core.press(token, Actor("telegram", str(user_id)))

    async def console(self, script: str, as_name: str | None = None) -> str:
        out = io.StringIO()
        code = await run_console(self.core, as_name=as_name, stdin=io.StringIO(script), stdout=out,
                                 interactive=False)
        assert code == 0
        return out.getvalue()

    async def close(self) -> None:
        await self.core.stop()
        await self.exchange.close()
        self.core.engine.dispose()


async def open_desk(url: str, *, policy: PolicyConfig | None = None, paper: PaperConfig = PAPER,
                    clock: FakeClock | None = None) -> DeskUnderTest:
    migrate.upgrade(url)
    engine = make_engine(url)
    desk = DeskConfig(members=MEMBERS, paper=paper, policy=policy or PolicyConfig())
    exchange = await PaperExchange.open(engine, paper)
    clock = clock or FakeClock()
    core = DeskCore(engine=engine, exchange=exchange, desk=desk, clock=clock, audit_key=AUDIT_KEY)
    await core.start()
    return DeskUnderTest(url, core, exchange, clock)


def intents(desk: DeskUnderTest) -> list[Intent]:
    """The intents the desk has recorded, oldest first."""
    with Session(desk.core.engine) as s:
        return list(s.exec(select(Intent).order_by(Intent.id)).all())  # type: ignore[arg-type]


async def borrowed(desk: DeskUnderTest | DeskCore, asset: str = "USDT") -> Decimal:
    """What the cross account owes in `asset`, as the (paper) exchange sees it."""
    return (await desk.exchange.account(None)).asset(asset).borrowed


def short_id(reply: Reply | str) -> str:
    text = reply if isinstance(reply, str) else reply.title
    match = ID_RE.search(text)
    assert match, text
    return match.group(1)
