"""Liquidation edge cases on the paper exchange (a bankrupt short, a cross liquidation routed through
USDT), and the events it reports to listeners (sync, async, and one that fails).

Each test pins one rule of the reference (§4, §5) or one [choice] the paper exchange makes.
"""

from __future__ import annotations

import pytest

from chatbot.exchange import ExchangeEvent, Side, SideEffect

from .helpers import D, Open, code_of, funded, market


async def test_bankrupt_short_is_flagged_and_cannot_trade(open_exchange: Open) -> None:
    ex = await funded(open_exchange)
    events: list[ExchangeEvent] = []
    ex.subscribe(events.append)
    await ex.place_order(market(Side.SELL, "1", SideEffect.MARGIN_BUY))
    await ex.set_price("BTCUSDT", D("100000"))  # ML 0.55: every USDT buys BTC back, debt remains
    snap = await ex.account()
    assert snap.asset("BTC").liability > 0 and snap.asset("USDT").free < 5
    [liq] = [e for e in events if e.kind == "liquidation"]
    assert liq.data["bankrupt"] is True
    assert await code_of(ex.place_order(market(Side.BUY, "0.001"))) == -3023
    await ex.set_price("BTCUSDT", D("100001"))  # nothing left to sell: no new liquidation event
    assert len([e for e in events if e.kind == "liquidation"]) == 1


async def test_cross_liquidation_routes_through_usdt_without_a_direct_pair(open_exchange: Open) -> None:
    ex = await open_exchange(prices={"BTCUSDT": "35000", "ETHUSDT": "2000"}, cross={"ETH": "10"},
                             daily_interest_rates={"BTC": "0"})
    events: list[ExchangeEvent] = []
    ex.subscribe(events.append)
    await ex.borrow("BTC", D("0.38"))
    await ex.place_order(market(Side.SELL, "0.38"))  # short BTC, ETH and USDT as collateral: ML 2.5
    await ex.set_price("ETHUSDT", D("1000"))  # ML 23,300 / 13,300 ≈ 1.75
    await ex.set_price("BTCUSDT", D("49000"))  # ≈ 1.25
    assert await ex.liquidation_records() == []
    await ex.set_price("BTCUSDT", D("56250"))  # 23,300 / 21,375 ≈ 1.090 → liquidation
    records = list(reversed(await ex.liquidation_records()))
    assert records[0].symbol == "BTCUSDT" and records[0].side == Side.BUY  # USDT buys BTC back first
    assert ("ETHUSDT", Side.SELL) in {(r.symbol, r.side) for r in records}  # then ETH is sold via USDT
    snap = await ex.account()
    assert D("1.5") <= snap.margin_level < D("1.51")
    assert 0 < snap.asset("ETH").free < 10
    [liq] = [e for e in events if e.kind == "liquidation"]
    assert liq.data["bankrupt"] is False


async def test_listeners_sync_async_and_failing(open_exchange: Open, caplog: pytest.LogCaptureFixture) -> None:
    ex = await funded(open_exchange)
    seen_sync: list[str] = []
    seen_async: list[str] = []

    def broken(event: ExchangeEvent) -> None:
        raise RuntimeError("listener bug")

    async def async_listener(event: ExchangeEvent) -> None:
        seen_async.append(event.kind)

    ex.subscribe(broken)
    ex.subscribe(lambda e: seen_sync.append(e.kind))
    ex.subscribe(async_listener)
    await ex.place_order(market(Side.SELL, "1", SideEffect.MARGIN_BUY))  # ML 1.57: band NORMAL
    await ex.set_price("BTCUSDT", D("36000"))
    await ex.advance(3600)
    assert seen_sync == seen_async
    assert {"liability", "fill", "band", "price", "clock"} <= set(seen_sync)
    assert "listener bug" in caplog.text
    assert (await ex.account()).asset("BTC").interest == D("0.00002")  # the engine kept going
