"""This machine's clock against Binance's (reliability.md §7.9), with the fake on the real clock and the
default 0.5 s tolerance: a 2 s skew found at a resync pauses writes (reads go on) and raises one alarm;
a 418 ban raises one alarm too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from adapters.binance import BinanceExchange, BinanceOptions, connect
from chatbot.exchange import ExchangeEvent, OrderRequest, OrderStatus, OrderType, RateLimited, Side
from chatbot.replies import Severity
from tests.binance.live import FAST, LiveDesk, live_settings, open_live_desk
from tests.fakes.binance import FakeBinance


@pytest.fixture
async def realtime() -> AsyncIterator[FakeBinance]:
    async with FakeBinance(start=datetime.now(UTC)) as server:
        yield server


async def test_start_on_a_good_clock(realtime: FakeBinance) -> None:
    exchange, report = await connect(live_settings(realtime), engine=None, timeouts=FAST,
                                     options=BinanceOptions(symbols="BTCUSDT"))
    await exchange.close()
    assert report.clock_ok and abs(report.offset_ms) < 500


async def test_skew_pauses_writes_and_alarms_once(realtime: FakeBinance, db_url: str) -> None:
    desk: LiveDesk = await open_live_desk(realtime, db_url, options=BinanceOptions(symbols="BTCUSDT"))
    alarms: list[ExchangeEvent] = []

    async def keep(event: ExchangeEvent) -> None:
        if event.kind == "alarm":
            alarms.append(event)

    desk.exchange.subscribe(keep)
    try:
        assert (await desk.confirmed("carol", "/long BTCUSDT 0.01")).title.startswith("Done")
        resting = await desk.exchange.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT,
                                                               quantity=Decimal("0.01"), price=Decimal("30000")))
        await realtime.advance(2)  # Binance's clock is now 2 s ahead of this machine's
        await desk.exchange.t.resync()  # the periodic resync measures it
        await desk.exchange.t.resync()
        assert [a.data["what"] for a in alarms] == ["clock"] and alarms[0].data["limit_ms"] == 500
        refused = await desk.confirmed("carol", "/long BTCUSDT 0.01")
        assert refused.severity is Severity.ERROR and "clock is 2.0 s off Binance's" in refused.title
        assert realtime.count("POST", "/sapi/v1/margin/order") == 2  # the /long and the resting order, no more
        assert (await desk.say("dave", "/status")).title == "Status — cross margin"  # reads go on
        cancelled = await desk.exchange.cancel_order("BTCUSDT", order_id=resting.order_id)  # cancels go on too
        assert cancelled.status == OrderStatus.CANCELED
    finally:
        await desk.close()


async def test_a_ban_raises_one_alarm(realtime: FakeBinance) -> None:
    exchange: BinanceExchange
    exchange, _ = await connect(live_settings(realtime), engine=None, timeouts=FAST,
                                options=BinanceOptions(symbols="BTCUSDT"))
    alarms: list[ExchangeEvent] = []
    exchange.subscribe(alarms.append)
    realtime.fail("GET", "/sapi/v1/margin/account", "418", retry_after=120)
    try:
        for _ in range(2):
            with pytest.raises(RateLimited):
                await exchange.account()
    finally:
        await exchange.close()
    assert [(a.kind, a.data["what"]) for a in alarms] == [("alarm", "ban")]
    until = alarms[0].data["until"]
    assert isinstance(until, datetime) and until > datetime.now(UTC)
