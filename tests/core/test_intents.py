"""Every exchange call is recorded before it is sent; an unknown outcome is reconciled by querying,
never by sending again."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from adapters.paper import PaperExchange
from chatbot.exchange import ExchangeUnavailable, OrderRequest
from tests.core.desk import DeskUnderTest, intents, open_desk, short_id


class TimeoutAfterAccepting:
    """Wraps the paper exchange: the call takes effect, then the answer is lost (a read timeout)."""

    def __init__(self, exchange: PaperExchange, lose: set[str]) -> None:
        self.exchange = exchange
        self.lose = lose
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.exchange, name)

    async def borrow(self, *args: Any, **kw: Any) -> int:
        self.calls.append("borrow")
        tx = await self.exchange.borrow(*args, **kw)
        if "borrow" in self.lose:
            raise ExchangeUnavailable("read timeout")
        return tx

    async def place_order(self, request: OrderRequest) -> Any:
        self.calls.append("order")
        if "order-before" in self.lose:
            raise ExchangeUnavailable("connect timeout")  # never reached the exchange
        order = await self.exchange.place_order(request)
        if "order" in self.lose:
            raise ExchangeUnavailable("read timeout")
        return order


async def run(db_url: str, lose: set[str], command: str) -> tuple[DeskUnderTest, TimeoutAfterAccepting, str]:
    desk = await open_desk(db_url)
    wrapped = TimeoutAfterAccepting(desk.exchange, lose)
    desk.core.services.exchange = desk.core.executor.exchange = wrapped  # type: ignore[assignment]
    prompt = await desk.say("carol", command)
    reply = await desk.say("carol", f"/confirm {short_id(prompt)}")
    return desk, wrapped, reply.title


async def test_borrow_accepted_then_timeout_is_reconciled_not_resent(db_url: str) -> None:
    desk, wrapped, title = await run(db_url, {"borrow"}, "/borrow USDT 1000")
    try:
        assert title.startswith("Done"), title
        assert wrapped.calls == ["borrow"]
        (intent,) = intents(desk)
        assert intent.state == "DONE" and intent.exchange_ref
        assert (await desk.exchange.account(None)).asset("USDT").borrowed == Decimal("1000")
    finally:
        await desk.close()


async def test_order_accepted_then_timeout_found_by_client_id(db_url: str) -> None:
    desk, wrapped, title = await run(db_url, {"order"}, "/short BTCUSDT 0.1")
    try:
        assert title.startswith("Done"), title
        assert wrapped.calls == ["order"]
        (intent,) = intents(desk)
        assert intent.state == "DONE"
        order = await desk.exchange.get_order("BTCUSDT", client_order_id=intent.client_id)
        assert str(order.order_id) == intent.exchange_ref
    finally:
        await desk.close()


async def test_order_never_sent_is_marked_not_sent(db_url: str) -> None:
    desk, wrapped, title = await run(db_url, {"order-before"}, "/short BTCUSDT 0.1")
    try:
        assert "did not reach the exchange" in title
        (intent,) = intents(desk)
        assert intent.state == "NOT_SENT"
        assert wrapped.calls == ["order"]
        assert (await desk.exchange.account(None)).asset("BTC").borrowed == 0
    finally:
        await desk.close()
