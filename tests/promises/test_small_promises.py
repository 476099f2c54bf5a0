"""Smaller promises from the reliability checklist (`docs/RELIABILITY.md`): an empty desk authorizes nobody,
the same command twice in a few seconds gets one prompt, and an order not found right after it was
sent is not declared absent until the exchange has had time to show it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from adapters.paper import PaperExchange
from chatbot.config import DeskConfig
from chatbot.core import DeskCore
from chatbot.exchange import ExchangeUnavailable, OrderNotFound, OrderRequest
from chatbot.execution import NOT_SENT, UNKNOWN
from chatbot.replies import Actor, Request
from chatbot.store import migrate
from chatbot.store.db import make_engine
from tests.core.desk import AUDIT_KEY, PAPER, open_desk, short_id


async def test_an_empty_allowlist_authorizes_nobody(sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    exchange = await PaperExchange.open(engine, PAPER)
    core = DeskCore(engine=engine, exchange=exchange, desk=DeskConfig(paper=PAPER), audit_key=AUDIT_KEY)
    await core.start()
    for actor in (Actor("telegram", "1"), Actor("discord", "2"), Actor("console", "root"), Actor("console", "")):
        reply = await core.handle(Request(actor=actor, text="/status"))
        assert "not a member" in reply.title
    assert len(core.audit.find("identify")) == 4
    engine.dispose()


async def test_the_same_long_twice_within_seconds_is_one_prompt(sqlite_url: str) -> None:
    desk = await open_desk(sqlite_url)
    try:
        first = await desk.say("carol", "/long BTCUSDT 0.1")
        desk.clock.advance(5)
        second = await desk.say("carol", "/long BTCUSDT 0.1")
        assert short_id(first) == short_id(second) and "Same request as a moment ago" in second.text()
        assert len(desk.core.pending.open_actions()) == 1
    finally:
        await desk.close()


class SlowToShow:
    """An exchange whose orders are invisible to queries for a while after they were sent (and whose
    answer to the send is lost), like a busy matching engine behind a timeout."""

    settle_seconds = 10

    def __init__(self, exchange: PaperExchange) -> None:
        self.exchange = exchange

    def __getattr__(self, name: str) -> Any:
        return getattr(self.exchange, name)

    async def place_order(self, request: OrderRequest) -> Any:
        raise ExchangeUnavailable("read timeout")  # never arrived, but nobody can know yet

    async def get_order(self, *args: Any, **kw: Any) -> Any:
        raise OrderNotFound(-2013, "Order does not exist.")


async def test_not_found_right_after_sending_is_not_yet_absent(sqlite_url: str) -> None:
    desk = await open_desk(sqlite_url)
    try:
        slow = SlowToShow(desk.exchange)
        desk.core.services.exchange = desk.core.executor.exchange = slow  # type: ignore[assignment]
        reply = await desk.say("carol", f"/confirm {short_id(await desk.say('carol', '/short BTCUSDT 0.1'))}")
        assert "outcome unknown" in reply.title
        (intent_id,) = desk.core.executor.orphans()
        assert await desk.core.executor.reconcile(intent_id) == UNKNOWN  # still within the settle window
        await desk.exchange.advance(int(timedelta(seconds=11).total_seconds()))
        assert await desk.core.executor.reconcile(intent_id) == NOT_SENT
        assert (await desk.exchange.account(None)).asset("BTC").borrowed == Decimal(0)
    finally:
        await desk.close()


async def test_a_short_id_already_taken_is_drawn_again(sqlite_url: str, monkeypatch: Any) -> None:
    """Six hex digits meet about once in 2,000 prompts: the second prompt gets another id, never an error."""
    import chatbot.flows.pending as pending_module

    desk = await open_desk(sqlite_url)
    try:
        first = short_id(await desk.say("carol", "/borrow USDT 100"))
        draws = iter([first, "0badc0"])
        monkeypatch.setattr(pending_module.secrets, "token_hex", lambda n: next(draws))
        second = await desk.say("bob", "/borrow USDT 200")
        assert short_id(second) == "0badc0", second.text()
        monkeypatch.undo()
        done = await desk.say("bob", "/confirm 0badc0")
        assert done.title.startswith("Done [0badc0]"), done.text()
        assert {p.short_id for p in desk.core.pending.open_actions()} == {first}
    finally:
        await desk.close()
