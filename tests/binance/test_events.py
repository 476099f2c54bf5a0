"""Alerts on live: the margin risk stream pushes a margin call at once; it reconnects; the band poll covers
isolated accounts and cross while the stream is down; background polling yields to a high request weight."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from chatbot.config import AlertsConfig
from chatbot.exchange import ExchangeEvent, OrderRequest, OrderType, RateLimited, Side, SideEffect
from chatbot.margin import Band
from tests.binance.live import LiveDesk, open_live_desk
from tests.fakes.binance import FakeBinance, default_config

ALERTS = AlertsConfig(warn_level=Decimal("1.3"), hysteresis=Decimal("0.05"), monitor_interval_seconds=3600)


@pytest.fixture
async def alerting(fake: FakeBinance, db_url: str) -> AsyncIterator[LiveDesk]:
    desk = await open_live_desk(fake, db_url, alerts=ALERTS)
    desk.exchange.stream.backoff = (0.01,)
    yield desk
    await desk.close()


async def open_long(desk: LiveDesk, qty: str = "1.7", isolated: bool = False) -> None:
    """Cross: 20000 USDT buys 1.7 BTC at 35000 with MARGIN_BUY — margin level ≈ 1.506."""
    await desk.exchange.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=Decimal(qty),
                                                 side_effect=SideEffect.MARGIN_BUY, isolated=isolated))


async def test_margin_call_arrives_on_the_stream_without_a_poll(alerting: LiveDesk) -> None:
    desk = alerting
    await desk.exchange.start()
    await asyncio.wait_for(desk.exchange.stream.connected.wait(), 5)
    await open_long(desk)
    polls = desk.exchange.poller.polls
    await desk.fake.set_price("BTCUSDT", "30000")  # 51000 / 39500 ≈ 1.291: the margin-call band
    notice = await desk.recorder.nth(1)
    assert notice.kind == "margin" and notice.data["event"] == "fire" and notice.data["account"] == "cross"
    assert notice.reply.title.startswith("MARGIN CALL — cross margin level 1.29"), notice.reply.title
    assert desk.exchange.poller.polls == polls  # the stream, not the poll, brought it
    assert desk.fake.count("WS", "/ws") == 1


async def test_stream_reconnects_and_renews_its_key(alerting: LiveDesk) -> None:
    desk = alerting
    await desk.exchange.start()
    await asyncio.wait_for(desk.exchange.stream.connected.wait(), 5)
    await desk.fake.drop_streams()
    while desk.exchange.stream.connections < 2 or not desk.fake.streams:
        await asyncio.sleep(0.01)
    await desk.fake.push({"e": "listenKeyExpired", "E": desk.fake.now_ms})
    while desk.exchange.stream.connections < 3 or not desk.fake.streams:
        await asyncio.sleep(0.01)
    assert desk.fake.count("POST", "/sapi/v1/margin/listen-key") == 3
    await open_long(desk)
    await desk.fake.set_price("BTCUSDT", "30000")
    assert (await desk.recorder.nth(1)).data["event"] == "fire"


async def test_poll_covers_cross_while_the_stream_is_down(alerting: LiveDesk) -> None:
    desk = alerting  # stream never started
    await open_long(desk)
    assert await desk.exchange.poller.poll_once(desk.exchange.t.now) == []  # the baseline
    await desk.fake.set_price("BTCUSDT", "30000")
    (event,) = await desk.exchange.poller.poll_once(desk.exchange.t.now)
    assert (event.kind, event.isolated_symbol, event.data["new"]) == ("band", None, Band.MARGIN_CALL)
    assert event.data["source"] == "poll"
    assert (await desk.recorder.nth(1)).data["account"] == "cross"


async def test_poll_covers_isolated_accounts(db_url: str) -> None:
    config = default_config(isolated={"BTCUSDT": {"USDT": "1000"}}, isolated_leverage={"BTCUSDT": 10})
    async with FakeBinance(config) as fake:
        desk = await open_live_desk(fake, db_url, alerts=ALERTS)
        try:
            await desk.exchange.start()
            await asyncio.wait_for(desk.exchange.stream.connected.wait(), 5)
            await desk.exchange.borrow("USDT", Decimal("9000"), "BTCUSDT")
            await open_long(desk, "0.2857", isolated=True)  # ≈ 10000 USDT of BTC at 35000: ML ≈ 1.111
            await desk.exchange.poller.poll_once(desk.exchange.t.now)
            await fake.set_price("BTCUSDT", "34000")
            events = await desk.exchange.poller.poll_once(desk.exchange.t.now)
            assert [(e.isolated_symbol, e.data["new"]) for e in events] == [("BTCUSDT", Band.MARGIN_CALL)]  # 1.079
            assert fake.count("GET", "/sapi/v1/margin/account") <= 2  # cross is on the stream, not polled
        finally:
            await desk.close()


async def test_background_polling_yields_to_high_weight(alerting: LiveDesk) -> None:
    desk = alerting
    desk.fake.weight_base = 10_000  # other clients of this IP used 10000 of 12000 SAPI weight this minute
    assert (await desk.say("dave", "/status")).title == "Status — cross margin"  # commands still go
    assert desk.exchange.gate.pressure() > 0.8 and desk.exchange.gate.slowdown() == 4.0
    sent = len(desk.fake.seen)
    with pytest.raises(RateLimited, match="background polling waits"):
        await desk.exchange.poller.poll_once(desk.exchange.t.now)
    assert len(desk.fake.seen) == sent


async def test_events_reach_every_listener_even_if_one_fails(alerting: LiveDesk) -> None:
    got: list[ExchangeEvent] = []
    arrived = asyncio.Event()

    def broken(event: ExchangeEvent) -> None:
        raise RuntimeError("listener bug")

    async def keep(event: ExchangeEvent) -> None:
        got.append(event)
        arrived.set()

    desk = alerting
    desk.exchange.subscribe(broken)
    desk.exchange.subscribe(keep)
    await desk.exchange.start()
    await asyncio.wait_for(desk.exchange.stream.connected.wait(), 5)
    await desk.exchange.borrow("USDT", Decimal("100"))
    await asyncio.wait_for(arrived.wait(), 5)
    assert got[0].kind == "liability" and got[0].data["asset"] == "USDT" and got[0].data["type"] == "BORROW"
