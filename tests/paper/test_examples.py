"""The reference's worked examples (binance-margin.md §6 A–D), reproduced through the Exchange port.

Every number asserted here is the one the reference gives, to the last digit it gives. All runs use
a manual clock (`advance`) and the common settings of §6 unless a test says otherwise.
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal

import pytest

from adapters.paper import PaperExchange
from adapters.paper.model import ms_to_dt
from chatbot import margin
from chatbot.exchange import (
    CROSS,
    SPOT,
    AccountSnapshot,
    DrillControls,
    Exchange,
    ExchangeError,
    ExchangeEvent,
    LoanStatus,
    LoanType,
    OrderStatus,
    Side,
    SideEffect,
    isolated_account,
)
from chatbot.margin import Band, Thresholds

from .helpers import D, Open, limit, market, q8, utc

A_START = utc(2024, 1, 1)
B_START = utc(2024, 3, 1, 10)


def totals_of_btc(snap: AccountSnapshot) -> tuple[Decimal, Decimal, Decimal]:
    """Binance's totalAssetOfBtc / totalLiabilityOfBtc / totalNetAssetOfBtc from a snapshot."""
    btc = snap.prices["BTC"]
    return (q8(snap.total_asset_value / btc), q8(snap.total_liability_value / btc), q8(snap.net_value / btc))


async def test_paper_exchange_implements_the_ports(open_exchange: Open) -> None:
    ex = await open_exchange()
    assert isinstance(ex, Exchange)
    assert isinstance(ex, DrillControls)
    assert ex.name == "paper"


# ---------------------------------------------------------------------------- Example A


async def _a1_a2(ex: PaperExchange, events: list[ExchangeEvent]) -> None:
    ex.subscribe(events.append)
    await ex.advance(600)  # 00:10
    await ex.transfer("USDT", D("20000"), SPOT, CROSS)
    snap = await ex.account()
    assert snap.asset("USDT").free == D("20000")
    assert q8(snap.margin_level) == D("999.00000000")
    assert totals_of_btc(snap)[0] == D("0.57142857")
    assert await ex.max_borrowable("BTC") == D("1.14285714")
    assert await ex.max_transferable("USDT") == D("20000")
    assert await ex.advance(600) == ms_to_dt(1704068400000)  # 00:20


async def test_example_a_cross_short_with_interest(open_exchange: Open) -> None:
    ex = await open_exchange(start_time=A_START, spot={"USDT": "20000"})
    events: list[ExchangeEvent] = []
    await _a1_a2(ex, events)

    # A2: short 1 BTC at 35,000 with MARGIN_BUY
    order = await ex.place_order(market(Side.SELL, "1", SideEffect.MARGIN_BUY))
    assert order.status == OrderStatus.FILLED
    assert order.margin_buy_borrow_amount == D("1.00000000")
    assert order.margin_buy_borrow_asset == "BTC"
    snap = await ex.account()
    btc, usdt = snap.asset("BTC"), snap.asset("USDT")
    assert (btc.free, btc.borrowed, btc.interest, btc.net) == (0, D("1"), D("0.00001"), D("-1.00001"))
    assert usdt.free == D("55000")
    assert q8(snap.margin_level) == D("1.57141286")
    assert totals_of_btc(snap) == (D("1.57142857"), D("1.00001000"), D("0.57141857"))
    assert snap.band == Band.NORMAL
    assert await ex.max_borrowable("BTC") == D("0.14282714")
    assert await ex.max_borrowable("USDT") == D("4998.95")
    assert await ex.max_transferable("USDT") == 0
    [borrow] = await ex.loan_records(LoanType.BORROW)
    assert (borrow.kind, borrow.asset, borrow.principal, borrow.status) == ("AUTO", "BTC", 1, LoanStatus.CONFIRMED)

    # Risk prices while short, from the snapshot through chatbot.margin (I = 0.00001)
    args = (btc.total, usdt.total, btc.liability, usdt.liability)
    assert q8(margin.price_for_level(D("1.3"), *args)) == D("42307.26923500")
    assert q8(margin.liquidation_price(*args, snap.thresholds.liquidation)) == D("49999.50000500")
    assert margin.price_for_level(D("1.5"), *args).quantize(D("0.01")) == D("36666.30")
    assert margin.price_for_level(D("2"), *args).quantize(D("0.01")) == D("27499.73")

    # A3: 24 hourly charges up to 2024-01-02 00:00
    await ex.advance(23 * 3600 + 40 * 60)
    snap = await ex.account()
    assert snap.asset("BTC").interest == D("0.00025")
    btc, usdt = snap.asset("BTC"), snap.asset("USDT")
    args = (btc.total, usdt.total, btc.liability, usdt.liability)
    assert q8(margin.price_for_level(D("1.3"), *args)) == D("42297.11802819")
    assert q8(margin.liquidation_price(*args, D("1.1"))) == D("49987.50312422")

    # A4: 00:10, price 25,000
    await ex.advance(600)
    assert await ex.now() == ms_to_dt(1704154200000)
    await ex.set_price("BTCUSDT", D("25000"))
    snap = await ex.account()
    assert q8(snap.margin_level) == D("2.19945014")
    assert snap.band == Band.EXCESSIVE
    assert await ex.max_transferable("USDT") == D("4987.50")
    assert await ex.max_borrowable("BTC") == D("1.39925")

    # A5: buy back 1.00025 with AUTO_REPAY
    order = await ex.place_order(market(Side.BUY, "1.00025", SideEffect.AUTO_REPAY))
    assert order.cummulative_quote_qty == D("25006.25")
    [repay] = await ex.loan_records(LoanType.REPAY)
    assert (repay.kind, repay.amount, repay.interest, repay.principal) == (
        "AUTO", D("1.00025000"), D("0.00025000"), D("1.00000000"))
    snap = await ex.account()
    assert snap.asset("USDT").free == D("29993.75")
    assert snap.asset("BTC").free == snap.asset("BTC").borrowed == snap.asset("BTC").interest == 0
    assert q8(snap.margin_level) == D("999.00000000")
    assert snap.net_value - D("20000") == D("9993.75")  # Trality's +10,000 minus 6.25 USDT of interest

    # Interest history: 25 rows, newest first, ON_BORROW floored to 00:00
    rows = await ex.interest_history(asset="BTC")
    assert len(rows) == 25
    assert [r.type for r in rows] == ["PERIODIC"] * 24 + ["ON_BORROW"]
    stamps = [int(r.time.timestamp() * 1000) for r in rows]
    assert stamps[0] == 1704153600000 and stamps[-2] == 1704070800000 and stamps[-1] == 1704067200000
    assert stamps == sorted(stamps, reverse=True)
    assert all(stamps[i] - stamps[i + 1] == 3_600_000 for i in range(24))
    assert {(r.principal, r.interest, r.daily_rate, r.asset, r.isolated_symbol) for r in rows} == {
        (D("1"), D("0.00001"), D("0.00024"), "BTC", None)}

    bands = [(e.data["old"], e.data["new"]) for e in events if e.kind == "band"]
    assert bands == [(Band.EXCESSIVE, Band.NORMAL), (Band.NORMAL, Band.EXCESSIVE)]


async def test_example_a_same_numbers_by_manual_borrow_and_repay(open_exchange: Open) -> None:
    ex = await open_exchange(start_time=A_START, spot={"USDT": "20000"})
    await _a1_a2(ex, [])
    await ex.borrow("BTC", D("1"))
    await ex.place_order(market(Side.SELL, "1"))
    snap = await ex.account()
    assert q8(snap.margin_level) == D("1.57141286")
    [borrow] = await ex.loan_records(LoanType.BORROW)
    assert borrow.kind == "MANUAL" and borrow.principal == 1
    await ex.advance(23 * 3600 + 50 * 60)
    await ex.set_price("BTCUSDT", D("25000"))
    await ex.place_order(market(Side.BUY, "1.00025"))
    await ex.repay("BTC", D("1.00025"))
    [repay] = await ex.loan_records(LoanType.REPAY)
    assert (repay.kind, repay.amount, repay.interest, repay.principal) == (
        "MANUAL", D("1.00025"), D("0.00025"), D("1"))
    snap = await ex.account()
    assert snap.asset("USDT").free == D("29993.75")
    assert snap.asset("BTC").net == 0 and snap.asset("BTC").free == 0


async def test_example_a_fee_variant(open_exchange: Open) -> None:
    ex = await open_exchange(start_time=A_START, spot={"USDT": "20000"}, taker_fee="0.001")
    await _a1_a2(ex, [])
    sold = await ex.place_order(market(Side.SELL, "1", SideEffect.MARGIN_BUY))
    assert sold.fills[0].commission == D("35") and sold.fills[0].commission_asset == "USDT"
    assert (await ex.account()).asset("USDT").free == D("54965")
    await ex.advance(23 * 3600 + 50 * 60)
    await ex.set_price("BTCUSDT", D("25000"))
    qty = (D("1.00025") / D("0.999") / D("0.00001")).to_integral_value(rounding=ROUND_UP) * D("0.00001")
    assert qty == D("1.00126")
    bought = await ex.place_order(market(Side.BUY, str(qty), SideEffect.AUTO_REPAY))
    assert bought.cummulative_quote_qty == D("25031.50")
    assert bought.fills[0].commission == D("0.00100126") and bought.fills[0].commission_asset == "BTC"
    snap = await ex.account()
    assert snap.asset("USDT").free == D("29933.50")
    assert snap.asset("BTC").free == D("0.00000874")
    assert snap.total_liability_value == 0


# ---------------------------------------------------------------------------- Example B


async def _example_b(ex: PaperExchange, events: list[ExchangeEvent]) -> None:
    ex.subscribe(events.append)
    await ex.transfer("USDT", D("10000"), SPOT, CROSS)
    assert await ex.max_borrowable("USDT") == D("20000")
    await ex.advance(1800)  # 10:30
    order = await ex.place_order(market(Side.BUY, "1", SideEffect.MARGIN_BUY))
    assert order.margin_buy_borrow_amount == D("20000.00000000") and order.margin_buy_borrow_asset == "USDT"
    snap = await ex.account()
    usdt = snap.asset("USDT")
    assert (snap.asset("BTC").free, usdt.free, usdt.borrowed, usdt.interest, usdt.net) == (
        D("1"), 0, D("20000"), D("0.2"), D("-20000.2"))
    assert q8(snap.margin_level) == D("1.49998500")
    assert totals_of_btc(snap)[1:] == (D("0.66667333"), D("0.33332667"))
    assert snap.band == Band.NORMAL
    assert await ex.max_borrowable("USDT") == 0
    assert await ex.max_transferable("USDT") == 0
    with pytest.raises(ExchangeError) as err:
        await ex.borrow("USDT", D("1"))
    assert err.value.code == -3006
    [row] = await ex.interest_history(asset="USDT")
    assert (row.type, int(row.time.timestamp() * 1000), row.interest) == ("ON_BORROW", 1709287200000, D("0.2"))

    await ex.advance(4 * 3600 + 50 * 60)  # B3: 11:00 … 15:00 → 5 charges; now 15:20
    assert (await ex.account()).asset("USDT").interest == D("1.2")
    await ex.set_price("BTCUSDT", D("26000"))  # B4
    snap = await ex.account()
    assert q8(snap.margin_level) == D("1.29992200") and snap.band == Band.MARGIN_CALL
    args = (D("1"), D("0"), D("0"), snap.asset("USDT").liability)
    assert margin.price_for_level(snap.thresholds.margin_call, *args).quantize(D("0.01")) == D("26001.56")
    assert margin.liquidation_price(*args, snap.thresholds.liquidation).quantize(D("0.01")) == D("22001.32")
    resting = await ex.place_order(limit(Side.SELL, "0.5", "40000"))  # trading still allowed
    assert resting.status == OrderStatus.NEW
    assert (await ex.account()).asset("BTC").locked == D("0.5")
    await ex.advance(1200)  # 15:40
    await ex.set_price("BTCUSDT", D("22000"))  # B5 → liquidation
    cancelled = await ex.get_order("BTCUSDT", order_id=resting.order_id)
    assert cancelled.status == OrderStatus.CANCELED


def _band_events(events: list[ExchangeEvent]) -> list[tuple[Band, Band, Decimal, int]]:
    return [(e.data["old"], e.data["new"], e.data["level"], int(e.time.timestamp() * 1000))  # type: ignore[misc]
            for e in events if e.kind == "band"]


async def test_example_b_to_initial(open_exchange: Open) -> None:
    ex = await open_exchange(start_time=B_START, prices={"BTCUSDT": "30000"}, spot={"USDT": "10000"})
    events: list[ExchangeEvent] = []
    await _example_b(ex, events)
    snap = await ex.account()
    usdt, btc = snap.asset("USDT"), snap.asset("BTC")
    assert (usdt.borrowed, usdt.interest, usdt.free, btc.free, btc.locked) == (
        D("3316.5628"), 0, 0, D("0.22613"), 0)
    assert q8(snap.margin_level) == D("1.50000476")
    assert snap.net_value == D("1658.2972")  # 1998.80 before, minus exactly the 340.5028 fee
    [rec] = await ex.liquidation_records()
    assert (rec.side, rec.qty, rec.price, rec.avg_price, rec.fee) == (
        Side.SELL, D("0.77387"), D("22000"), D("22000"), D("340.5028"))
    repay = [r for r in await ex.loan_records(LoanType.REPAY) if r.kind == "LIQUIDATION"]
    assert [(r.amount, r.interest, r.principal) for r in repay] == [
        (D("16684.6372"), D("1.2"), D("16683.4372"))]
    assert _band_events(events) == [
        (Band.EXCESSIVE, Band.NORMAL, D("1.49998500"), 1709289000000),
        (Band.NORMAL, Band.MARGIN_CALL, D("1.29992200"), 1709306400000),
        (Band.MARGIN_CALL, Band.FORCE_LIQUIDATION, D("1.09993400"), 1709307600000),
        (Band.FORCE_LIQUIDATION, Band.NORMAL, D("1.50000476"), 1709307600000),
    ]
    [liq] = [e for e in events if e.kind == "liquidation"]
    assert liq.data["level_before"] == D("1.09993400") and liq.data["level_after"] == D("1.50000476")
    assert liq.data["cancelled"] and liq.data["bankrupt"] is False
    assert not snap.locked


async def test_example_b_full(open_exchange: Open) -> None:
    ex = await open_exchange(start_time=B_START, prices={"BTCUSDT": "30000"}, spot={"USDT": "10000"},
                       liquidation_mode="full")
    events: list[ExchangeEvent] = []
    await _example_b(ex, events)
    snap = await ex.account()
    assert snap.asset("USDT").free == D("1558.80")
    assert snap.total_liability_value == 0 and snap.asset("BTC").total == 0
    assert q8(snap.margin_level) == D("999.00000000")
    [rec] = await ex.liquidation_records()
    assert (rec.qty, rec.fee) == (D("1"), D("440"))
    assert _band_events(events)[-1][:2] == (Band.FORCE_LIQUIDATION, Band.EXCESSIVE)


# ---------------------------------------------------------------------------- Example C


async def test_example_c_isolated_10x_and_liquidation_price(open_exchange: Open) -> None:
    ex = await open_exchange(prices={"BTCUSDT": "50000"}, spot={"USDT": "1000"})
    await ex.transfer("USDT", D("1000"), SPOT, CROSS)
    assert await ex.isolated_symbols() == []
    await ex.transfer("USDT", D("1000"), CROSS, isolated_account("BTCUSDT"))
    assert await ex.isolated_symbols() == ["BTCUSDT"]
    snap = await ex.account("BTCUSDT")
    assert snap.thresholds == Thresholds.isolated_for_leverage(10)
    assert (snap.thresholds.initial, snap.thresholds.liquidation) == (D("1.111"), D("1.05"))
    assert await ex.max_borrowable("USDT", "BTCUSDT") == D("9009.00900900")
    await ex.borrow("USDT", D("9000"), "BTCUSDT")
    assert (await ex.account("BTCUSDT")).asset("USDT").interest == D("0.09")
    await ex.place_order(market(Side.BUY, "0.2", isolated=True))
    snap = await ex.account("BTCUSDT")
    base, quote = snap.asset("BTC"), snap.asset("USDT")
    assert (base.free, quote.free, quote.borrowed, quote.interest) == (D("0.2"), 0, D("9000"), D("0.09"))
    assert q8(snap.margin_level) == D("1.11110000")
    assert snap.band == Band.NORMAL
    liq = margin.liquidation_price(base.total, quote.total, base.liability, quote.liability,
                                   snap.thresholds.liquidation)
    assert q8(liq) == D("47250.47250000")
    assert (1 - liq / D("50000")).quantize(D("0.0001")) == D("0.0550")
    assert q8(quote.net / snap.prices["BTC"]) == D("-0.18000180")
    assert totals_of_btc(snap) == (D("0.2"), D("0.18000180"), D("0.01999820"))
    assert (await ex.account()).total_asset_value == 0  # cross is untouched

    # The engine liquidates exactly at that price (tick 0.01): not at 47250.48, at 47250.47
    await ex.set_price("BTCUSDT", D("47250.48"))
    assert await ex.liquidation_records(isolated_symbol="BTCUSDT") == []
    await ex.set_price("BTCUSDT", D("47250.47"))
    [rec] = await ex.liquidation_records(isolated_symbol="BTCUSDT")
    assert rec.side == Side.SELL and rec.symbol == "BTCUSDT" and rec.isolated
    assert (await ex.account("BTCUSDT")).margin_level >= D("1.111")


async def test_example_c_net_short_formula(open_exchange: Open) -> None:
    ex = await open_exchange(spot={"USDT": "20000"}, isolated_leverage={"BTCUSDT": 3})
    await ex.transfer("USDT", D("20000"), SPOT, isolated_account("BTCUSDT"))
    await ex.place_order(market(Side.SELL, "1", SideEffect.MARGIN_BUY, isolated=True))
    snap = await ex.account("BTCUSDT")
    assert snap.thresholds.liquidation == D("1.1")
    base, quote = snap.asset("BTC"), snap.asset("USDT")
    liq = margin.liquidation_price(base.total, quote.total, base.liability, quote.liability, D("1.1"))
    assert q8(liq) == D("49999.50000500")
    await ex.set_price("BTCUSDT", D("49999.50"))
    assert await ex.liquidation_records(isolated_symbol="BTCUSDT") == []
    await ex.set_price("BTCUSDT", D("49999.51"))
    [rec] = await ex.liquidation_records(isolated_symbol="BTCUSDT")
    assert rec.side == Side.BUY  # a short is closed by buying the debt back
    assert rec.fee == q8(rec.qty * D("0.02")) and rec.qty > 0
    assert (await ex.account("BTCUSDT")).margin_level >= D("1.5")


# ---------------------------------------------------------------------------- Example D


async def test_example_d_interest_rows_and_repay_split(open_exchange: Open) -> None:
    ex = await open_exchange(
        prices={"BTCUSDT": "35000", "BNBUSDT": "300"},
        spot={"USDT": "60000"},
        daily_interest_rates={"BTC": "0.00024", "USDT": "0.00024", "BNB": "0.016",
                              "BNBUSDT:USDT": "0.00013233", "BNBUSDT:BNB": "0.032"},
    )
    await ex.transfer("USDT", D("1000"), SPOT, isolated_account("BNBUSDT"))
    await ex.borrow("USDT", D("45.3313"), "BNBUSDT")
    [row] = await ex.interest_history(isolated_symbol="BNBUSDT", asset="USDT")
    assert (row.principal, row.interest, row.daily_rate, row.type) == (
        D("45.3313"), D("0.00024995"), D("0.00013233"), "ON_BORROW")

    await ex.transfer("USDT", D("50000"), SPOT, CROSS)
    await ex.borrow("BNB", D("36.22"))
    [row] = await ex.interest_history(asset="BNB")
    assert (row.principal, row.interest, row.daily_rate) == (D("36.22"), D("0.02414667"), D("0.016"))

    await ex.borrow("BNB", D("14"), "BNBUSDT")
    await ex.repay("BNB", D("14"), "BNBUSDT")
    [rec] = await ex.loan_records(LoanType.REPAY, isolated_symbol="BNBUSDT")
    assert (rec.amount, rec.interest, rec.principal) == (D("14.00000000"), D("0.01866667"), D("13.98133333"))
    assert rec.interest + rec.principal == rec.amount


async def test_example_d_cross_guide_two_charges(open_exchange: Open) -> None:
    ex = await open_exchange(
        start_time=utc(2024, 5, 1, 13, 20),
        prices={"BTCUSDT": "35000", "USDCUSDT": "1"},
        symbols={"USDCUSDT": {"base": "USDC", "quote": "USDT", "tick_size": "0.0001", "step_size": "1"}},
        daily_interest_rates={"USDC": "0.00024"}, spot={"USDT": "5000"}, cross={"USDC": "1"},
    )
    await ex.transfer("USDT", D("5000"), SPOT, CROSS)
    await ex.borrow("USDC", D("1000"))
    await ex.advance(55 * 60)  # 14:15
    assert (await ex.account()).asset("USDC").interest == D("0.02")
    await ex.repay("USDC", D("1000.02"))
    [rec] = await ex.loan_records(LoanType.REPAY, asset="USDC")
    assert (rec.interest, rec.principal) == (D("0.02"), D("1000"))
    assert len(await ex.interest_history(asset="USDC")) == 2


async def test_example_d_margin_level_faq(open_exchange: Open) -> None:
    ex = await open_exchange(spot={"USDT": "30000000"}, daily_interest_rates={"USDT": "0"})
    await ex.transfer("USDT", D("30000000"), SPOT, CROSS)
    await ex.borrow("USDT", D("20000000"))
    snap = await ex.account()
    assert (snap.total_asset_value, snap.total_liability_value) == (D("50000000"), D("20000000"))
    assert snap.margin_level == D("2.5")
    # The engine applies no collateral haircut [choice]; with the FAQ's 70% haircut the same
    # numbers give CML 1.75 through chatbot.margin:
    assert margin.margin_level(snap.total_asset_value * D("0.7"), snap.total_liability_value) == D("1.75")
