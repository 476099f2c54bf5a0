"""Every desk command end to end on the live adapter: core → python-binance AsyncClient → fake Binance.

Run on SQLite and PostgreSQL. Each test checks what the user is told, what the exchange now holds,
and what went over the wire (one POST per action, the intent's client id on orders, only live
endpoints).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from chatbot.config import PolicyConfig
from chatbot.exchange import OrderStatus
from chatbot.replies import Severity
from tests.binance.live import LiveDesk, open_live_desk
from tests.core.desk import short_id
from tests.fakes.binance import FakeBinance, default_config

LOANS = "/sapi/v1/margin/borrow-repay"
ORDERS = "/sapi/v1/margin/order"


def only_live_endpoints(fake: FakeBinance) -> None:
    removed = [s for s in fake.seen if s.status == 404]
    assert removed == [], [(s.method, s.path) for s in removed]


async def test_status_cross(desk: LiveDesk) -> None:
    reply = await desk.say("dave", "/status")
    assert reply.title == "Status — cross margin", reply.text()
    fields = dict(reply.fields)
    assert fields["Margin level"] == "∞ (no debt) — EXCESSIVE"
    assert fields["Bars"] == "borrow > 1.5, margin call ≤ 1.3, liquidation ≤ 1.1"  # from tradeCoeff
    assert fields["Assets · owed · net"] == "20,000.00 · 0.00 · 20,000.00 USDT"
    assert fields["Max borrowable"] == "1.14285714 BTC, 20 ETH, 40,000.00 USDT"  # 20000 / (1.5 - 1) in each asset
    assert desk.fake.requests("POST") == []
    only_live_endpoints(desk.fake)


async def test_status_isolated_uses_the_pairs_own_bars(db_url: str) -> None:
    config = default_config(isolated={"BTCUSDT": {"USDT": "1000"}}, isolated_leverage={"BTCUSDT": 10})
    async with FakeBinance(config) as fake:
        desk = await open_live_desk(fake, db_url)
        try:
            assert await desk.exchange.isolated_symbols() == ["BTCUSDT"]
            reply = await desk.say("dave", "/status BTCUSDT")
            assert reply.title == "Status — isolated BTCUSDT margin", reply.text()
            fields = dict(reply.fields)
            assert fields["Bars"] == "borrow > 1.111, margin call ≤ 1.0805, liquidation ≤ 1.05"  # the tier's levels
            assert fields["Assets · owed · net"] == "1,000.00 · 0.00 · 1,000.00 USDT"
            assert fields["Max borrowable"] == "0.25740025 BTC, 9,009.01 USDT"  # 1000 / 0.111: Example C
        finally:
            await desk.close()


async def test_borrow_with_confirmation(desk: LiveDesk) -> None:
    prompt = await desk.say("carol", "/borrow USDT 1000")
    assert prompt.title.startswith("LIVE BINANCE · Confirm borrow 1000 USDT (cross)?"), prompt.text()
    assert desk.fake.count("POST", LOANS) == 0
    done = await desk.say("carol", f"/confirm {short_id(prompt)}")
    assert done.title.startswith("Done"), done.text()
    assert desk.cross("USDT").borrowed == Decimal("1000")
    (post,) = desk.fake.requests("POST", LOANS)
    assert post.params["type"] == "BORROW" and post.params["amount"] == "1000" and post.params["isIsolated"] == "FALSE"
    (intent,) = desk.intents()
    assert intent.state == "DONE" and intent.exchange_ref == str(next(iter(desk.fake.book.loans)))
    only_live_endpoints(desk.fake)


async def test_repay_all(desk: LiveDesk) -> None:
    assert (await desk.confirmed("carol", "/borrow USDT 1000")).title.startswith("Done")
    await desk.fake.advance(3600)  # an hour of interest
    await desk.exchange.t.resync()
    owed = desk.cross("USDT").liability
    assert owed == Decimal("1000.02")  # ON_BORROW + one PERIODIC charge of 0.01
    done = await desk.confirmed("carol", "/repay USDT all")
    assert done.title.startswith("Done"), done.text()
    usdt = desk.cross("USDT")
    assert usdt.borrowed == 0 and usdt.interest == 0
    repay = desk.fake.requests("POST", LOANS)[-1]
    assert repay.params["type"] == "REPAY" and Decimal(repay.params["amount"]) == owed


async def test_long_sends_the_intents_client_id(desk: LiveDesk) -> None:
    done = await desk.confirmed("carol", "/long BTCUSDT 0.1")
    assert done.title.startswith("Done"), done.text()
    (post,) = desk.fake.requests("POST", ORDERS)
    (intent,) = desk.intents()
    assert post.params["newClientOrderId"] == intent.client_id
    assert post.params["side"] == "BUY" and post.params["sideEffectType"] == "MARGIN_BUY"
    assert post.params["quantity"] == "0.1" and post.params["type"] == "MARKET"
    assert desk.cross("BTC").free == Decimal("0.1")
    order = desk.fake.book.get_order("BTCUSDT", None, intent.client_id, False)
    assert order.status == OrderStatus.FILLED and intent.exchange_ref == str(order.order_id)


async def test_short_then_close(desk: LiveDesk) -> None:
    assert (await desk.confirmed("carol", "/short BTCUSDT 0.1")).title.startswith("Done")
    btc = desk.cross("BTC")
    assert btc.borrowed == Decimal("0.1") and btc.free == 0
    assert desk.cross("USDT").free == Decimal("23500")
    done = await desk.confirmed("carol", "/close BTCUSDT")
    assert done.title.startswith("Done"), done.text()
    close = desk.fake.requests("POST", ORDERS)[-1]
    assert close.params["side"] == "BUY" and close.params["sideEffectType"] == "AUTO_REPAY"
    btc = desk.cross("BTC")
    assert btc.borrowed == 0 and btc.interest == 0
    assert len(desk.fake.requests("POST", ORDERS)) == 2
    only_live_endpoints(desk.fake)


async def test_interest(desk: LiveDesk) -> None:
    assert (await desk.confirmed("carol", "/borrow USDT 2400")).title.startswith("Done")
    await desk.fake.advance(2 * 3600)
    await desk.exchange.t.resync()
    reply = await desk.say("dave", "/interest")
    assert reply.title == "Interest — last 1 d", reply.text()
    assert reply.table is not None
    (row,) = reply.table.rows
    asset, borrowed, accrued, charged = row[:4]
    assert (asset, borrowed) == ("USDT", "2,400")
    assert accrued == charged == "0.072"  # 3 hourly charges of 2400 × 0.00024 / 24 = 0.024


async def test_four_eyes_approval(fake: FakeBinance, db_url: str) -> None:
    desk = await open_live_desk(fake, db_url, policy=PolicyConfig(approval_notional_usdt=Decimal("5000")))
    try:
        prompt = await desk.say("alice", "/borrow USDT 6000")
        sent = await desk.say("alice", f"/confirm {short_id(prompt)}")
        assert "sent to the admins" in sent.title, sent.text()
        assert "Four eyes" in (await desk.say("alice", f"/approve {short_id(prompt)}")).title
        assert fake.count("POST", LOANS) == 0
        approved = await desk.say("bob", f"/approve {short_id(prompt)}")
        assert approved.title.startswith("Done"), approved.text()
        assert desk.cross("USDT").borrowed == Decimal("6000")
        assert fake.count("POST", LOANS) == 1
    finally:
        await desk.close()


async def test_refusal_is_shown_and_changes_nothing(desk: LiveDesk) -> None:
    desk.fake.fail("POST", LOANS, "error", code=-3045, msg="The system does not have enough asset now.")
    reply = await desk.confirmed("carol", "/borrow USDT 1000")
    assert reply.severity is Severity.ERROR
    assert "The system does not have enough asset now. (-3045)" in reply.title
    (intent,) = desk.intents()
    assert intent.state == "REJECTED"
    assert desk.cross("USDT").borrowed == 0


async def test_an_unpriceable_asset_does_not_break_status(desk: LiveDesk, caplog: pytest.LogCaptureFixture) -> None:
    desk.fake.fail("GET", "/sapi/v1/margin/priceIndex", "error", code=-3042,
                   msg="PriceIndex not available for this margin pair.")
    reply = await desk.say("dave", "/status")
    assert reply.title == "Status — cross margin", reply.text()
    assert "no price index for" in caplog.text and "-3042" in caplog.text
