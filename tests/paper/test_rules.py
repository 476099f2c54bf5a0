"""Binance's gates and error codes, orders and side effects, interest schedule, liquidation edge cases.

Each test pins one rule of the reference (§4, §5) or one [choice] the paper exchange makes.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from adapters.paper import PaperExchange
from chatbot.exchange import (
    CROSS,
    SPOT,
    ExchangeError,
    ExchangeEvent,
    LoanStatus,
    LoanType,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    SideEffect,
    isolated_account,
)
from chatbot.margin import Band

from .helpers import D, limit, market, utc

Open = Callable[..., Awaitable[PaperExchange]]


async def code_of(awaitable: Awaitable[object]) -> int:
    with pytest.raises(ExchangeError) as err:
        await awaitable
    return err.value.code


async def funded(open_exchange: Open, usdt: str = "20000", **cfg: object) -> PaperExchange:
    """Cross account with `usdt` USDT (spot: the same USDT and 1 BTC), BTC at 35,000."""
    values: dict[str, object] = {"spot": {"USDT": usdt, "BTC": "1"}, "cross": {"USDT": usdt}}
    values.update(cfg)
    return await open_exchange(**values)


# ---------------------------------------------------------------------------- borrow / repay gates


async def test_borrow_gates_and_codes(open_exchange: Open) -> None:
    ex = await funded(open_exchange, prices={"BTCUSDT": "35000", "ETHUSDT": "2000"},
                      min_borrow={"BTC": "0.001"}, borrow_limits={"USDT": "1000"},
                      system_inventory={"BTC": "0.3"})
    assert await code_of(ex.borrow("ETH", D("1"))) == -3012  # no daily rate: borrowing banned
    assert await code_of(ex.borrow("BTC", D("0.0001"))) == -3013  # below min_borrow
    assert await code_of(ex.borrow("BTC", D("2"))) == -3006  # beyond the 3x margin gate (1.14)
    assert await code_of(ex.borrow("USDT", D("1000.01"))) == -11008  # the VIP limit binds
    assert await ex.max_borrowable("USDT") == D("1000")
    assert await code_of(ex.borrow("BTC", D("0.4"))) == -3045  # system inventory 0.3
    assert await ex.max_borrowable("BTC") == D("0.3")
    assert await code_of(ex.borrow("DOGE", D("1"))) == -3027
    assert await code_of(ex.borrow("BTC", D("0.000000001"))) == -1111
    assert await code_of(ex.borrow("BTC", D("0"))) == -1102
    assert await code_of(ex.borrow("USDT", D("1"), "BTCUSDT")) == -3003  # isolated never funded
    assert await code_of(ex.borrow("USDT", D("1"), "NOPEUSDT")) == -1121
    await ex.borrow("BTC", D("0.3"))
    assert await code_of(ex.repay("BTC", D("0.31"))) == -3015  # more than borrowed + interest
    await ex.place_order(market(Side.SELL, "0.3"))
    assert await code_of(ex.repay("BTC", D("0.2"))) == -3041  # not enough free BTC
    assert len(await ex.loan_records(LoanType.BORROW)) == 1


async def test_borrow_refused_with_3008_at_margin_call(open_exchange: Open) -> None:
    ex = await open_exchange(prices={"BTCUSDT": "30000"}, cross={"USDT": "10000"})
    await ex.place_order(market(Side.BUY, "1", SideEffect.MARGIN_BUY))
    await ex.set_price("BTCUSDT", D("26000"))
    assert (await ex.account()).band == Band.MARGIN_CALL
    assert await code_of(ex.borrow("BTC", D("0.001"))) == -3008


async def test_locked_account_refuses_everything_with_3023(open_exchange: Open) -> None:
    ex = await funded(open_exchange)
    ex.engine.accounts[CROSS].locked = True  # as during a liquidation
    assert await code_of(ex.borrow("BTC", D("0.1"))) == -3023
    assert await code_of(ex.transfer("USDT", D("1"), CROSS, SPOT)) == -3023
    assert await code_of(ex.transfer("USDT", D("1"), SPOT, CROSS)) == -3023
    assert await code_of(ex.place_order(market(Side.BUY, "0.01"))) == -3023
    assert (await ex.account()).locked


async def test_async_loans_pending_then_confirmed_or_failed(open_exchange: Open) -> None:
    ex = await funded(open_exchange, async_loans=True)
    tx = await ex.borrow("BTC", D("1.1"))
    [rec] = await ex.loan_records(LoanType.BORROW, tx_id=tx)
    assert rec.status == LoanStatus.PENDING
    assert (await ex.account()).asset("BTC").borrowed == 0
    assert await code_of(ex.borrow("BTC", D("0.01"))) == -3007
    await ex.advance(0)
    [rec] = await ex.loan_records(LoanType.BORROW, tx_id=tx)
    assert rec.status == LoanStatus.CONFIRMED
    snap = await ex.account()
    assert snap.asset("BTC").borrowed == D("1.1") and snap.asset("BTC").interest == D("0.000011")

    tx2 = await ex.repay("BTC", D("1.1"))
    await ex.advance(0)
    [rec2] = await ex.loan_records(LoanType.REPAY, tx_id=tx2)
    assert rec2.status == LoanStatus.CONFIRMED
    assert (rec2.interest, rec2.principal) == (D("0.000011"), D("1.099989"))

    tx3 = await ex.borrow("BTC", D("1.1"))  # allowed now (max 1.14…), but not after BTC rises
    await ex.set_price("BTCUSDT", D("40000"))
    before = (await ex.account()).asset("BTC")
    await ex.advance(0)
    [rec3] = await ex.loan_records(LoanType.BORROW, tx_id=tx3)
    assert rec3.status == LoanStatus.FAILED
    assert (await ex.account()).asset("BTC") == before  # a FAILED loan changes nothing


async def test_loan_record_filters(open_exchange: Open) -> None:
    ex = await funded(open_exchange, start_time=utc(2024, 1, 1))
    await ex.transfer("USDT", D("1000"), SPOT, isolated_account("BTCUSDT"))
    a = await ex.borrow("BTC", D("0.1"))
    await ex.advance(3600)
    b = await ex.borrow("USDT", D("100"))
    c = await ex.borrow("USDT", D("100"), "BTCUSDT")
    assert [r.tx_id for r in await ex.loan_records(LoanType.BORROW)] == [b, a]  # newest first, cross only
    assert [r.tx_id for r in await ex.loan_records(LoanType.BORROW, asset="USDT")] == [b]
    assert [r.tx_id for r in await ex.loan_records(LoanType.BORROW, isolated_symbol="BTCUSDT")] == [c]
    assert [r.tx_id for r in await ex.loan_records(LoanType.BORROW, start=utc(2024, 1, 1, 0, 30))] == [b]
    assert [r.tx_id for r in await ex.loan_records(LoanType.BORROW, end=utc(2024, 1, 1, 0, 30))] == [a]
    assert await ex.loan_records(LoanType.REPAY) == []


# ---------------------------------------------------------------------------- transfers


async def test_transfers_between_wallets_and_isolated_creation(open_exchange: Open) -> None:
    ex = await funded(open_exchange, prices={"BTCUSDT": "35000", "ETHUSDT": "2000"})
    assert await ex.isolated_symbols() == []
    snap = await ex.account("ETHUSDT")  # a configured pair, never funded: empty, not an error
    assert snap.total_asset_value == 0 and [a.asset for a in snap.assets] == ["ETH", "USDT"]
    assert await code_of(ex.transfer("BTC", D("0.5"), SPOT, isolated_account("ETHUSDT"))) == -3027
    assert await code_of(ex.transfer("USDT", D("1"), isolated_account("ETHUSDT"), SPOT)) == -3003
    assert await code_of(ex.transfer("USDT", D("1"), SPOT, "FUTURES")) == -1102
    assert await code_of(ex.transfer("USDT", D("99999"), SPOT, CROSS)) == -3041
    t1 = await ex.transfer("BTC", D("0.5"), SPOT, isolated_account("BTCUSDT"))
    t2 = await ex.transfer("USDT", D("500"), CROSS, isolated_account("ETHUSDT"))
    assert await ex.isolated_symbols() == ["BTCUSDT", "ETHUSDT"]
    assert (await ex.account("BTCUSDT")).asset("BTC").free == D("0.5")
    assert (await ex.spot_balances())["BTC"] == D("0.5")
    records = await ex.transfer_records()
    assert [(r.tx_id, r.from_account, r.to_account) for r in records] == [
        (t2, CROSS, "ISOLATED:ETHUSDT"), (t1, SPOT, "ISOLATED:BTCUSDT")]
    assert [r.tx_id for r in await ex.transfer_records(account=SPOT)] == [t1]


async def test_transfer_out_capped_by_max_transferable(open_exchange: Open) -> None:
    ex = await funded(open_exchange)
    await ex.borrow("BTC", D("0.2"))  # ML = 27000 / 7000.07 ≈ 3.857
    cap = await ex.max_transferable("USDT")
    assert cap == D("12999.86")  # min(free 20,000, 27,000 − 2 × 7,000.07)
    assert await code_of(ex.transfer("USDT", cap + D("0.01"), CROSS, SPOT)) == -3020
    await ex.transfer("USDT", cap, CROSS, SPOT)
    assert (await ex.account()).margin_level >= 2


# ---------------------------------------------------------------------------- orders


async def test_symbol_filters(open_exchange: Open) -> None:
    ex = await funded(open_exchange)
    cases = {
        "Filter failure: LOT_SIZE": market(Side.BUY, "0.000015"),
        "Filter failure: PRICE_FILTER": limit(Side.BUY, "0.01", "30000.005"),
        "Filter failure: NOTIONAL": market(Side.BUY, "0.0001"),  # 3.5 USDT < 5
    }
    for msg, req in cases.items():
        with pytest.raises(ExchangeError) as err:
            await ex.place_order(req)
        assert (err.value.code, err.value.msg) == (-1013, msg)
    assert await code_of(ex.place_order(market(Side.BUY, "0.01", symbol="NOPEUSDT"))) == -1121
    assert await code_of(ex.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT,
                                                     quantity=D("1")))) == -1102
    assert await code_of(ex.place_order(market(Side.BUY, "0.01", isolated=True))) == -3003


async def test_insufficient_balance_2010_and_unknown_orders(open_exchange: Open) -> None:
    ex = await funded(open_exchange)
    with pytest.raises(ExchangeError) as err:
        await ex.place_order(market(Side.BUY, "1"))  # 35,000 > 20,000 free, no side effect
    assert (err.value.code, err.value.msg) == (-2010, "Account has insufficient balance for requested action.")
    assert await code_of(ex.place_order(market(Side.SELL, "0.1"))) == -2010  # no BTC in cross
    assert await code_of(ex.cancel_order("BTCUSDT", order_id=999)) == -2011
    assert await code_of(ex.get_order("BTCUSDT", order_id=999)) == -2013
    assert await code_of(ex.get_order("BTCUSDT", client_order_id="nope")) == -2013
    assert await ex.open_orders() == []


async def test_client_order_ids(open_exchange: Open) -> None:
    ex = await funded(open_exchange)
    generated = await ex.place_order(limit(Side.BUY, "0.01", "30000"))
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,32}", generated.client_order_id)
    mine = await ex.place_order(limit(Side.BUY, "0.01", "30000", client_order_id="desk.42_a-b"))
    assert mine.client_order_id == "desk.42_a-b"
    assert (await ex.get_order("BTCUSDT", client_order_id="desk.42_a-b")).order_id == mine.order_id
    assert await code_of(ex.place_order(limit(Side.BUY, "0.01", "30000", client_order_id="desk.42_a-b"))) \
        == -2010  # duplicate of an open order
    assert await code_of(ex.place_order(limit(Side.BUY, "0.01", "30000", client_order_id="bot:1"))) == -1100
    assert await code_of(ex.get_order("BTCUSDT", client_order_id="desk.42_a-b", isolated=True)) == -2013
    cancelled = await ex.cancel_order("BTCUSDT", client_order_id="desk.42_a-b")
    assert cancelled.status == OrderStatus.CANCELED
    again = await ex.place_order(limit(Side.BUY, "0.01", "30000", client_order_id="desk.42_a-b"))
    assert (await ex.get_order("BTCUSDT", client_order_id="desk.42_a-b")).order_id == again.order_id
    assert [o.order_id for o in await ex.open_orders("BTCUSDT")] == [generated.order_id, again.order_id]


async def test_commissions_taker_for_market_maker_for_resting_limit(open_exchange: Open) -> None:
    ex = await funded(open_exchange, taker_fee="0.001", maker_fee="0.0005")
    assert await ex.trade_fee("BTCUSDT") == D("0.001")
    taker = await ex.place_order(market(Side.BUY, "0.1"))
    assert taker.fills[0].commission == D("0.0001") and taker.fills[0].commission_asset == "BTC"
    resting = await ex.place_order(limit(Side.BUY, "0.1", "34000"))
    assert resting.status == OrderStatus.NEW
    snap = await ex.account()
    assert snap.asset("USDT").locked == D("3400") and snap.asset("USDT").free == D("13100")
    await ex.set_price("BTCUSDT", D("34500"))
    assert (await ex.get_order("BTCUSDT", order_id=resting.order_id)).status == OrderStatus.NEW
    await ex.set_price("BTCUSDT", D("33900"))
    filled = await ex.get_order("BTCUSDT", order_id=resting.order_id)
    assert filled.status == OrderStatus.FILLED
    assert filled.fills[0].price == D("34000")  # the limit price, as a maker
    assert filled.fills[0].commission == D("0.00005")
    snap = await ex.account()
    assert snap.asset("USDT").locked == 0 and snap.asset("USDT").free == D("13100")
    assert snap.asset("BTC").free == D("0.1999") - D("0.00005")
    marketable = await ex.place_order(limit(Side.SELL, "0.1", "30000"))  # crosses: fills now, as taker
    assert marketable.fills[0].price == D("33900") and marketable.fills[0].commission == D("3.39")


async def test_ioc_limit_that_cannot_fill_expires(open_exchange: Open) -> None:
    ex = await funded(open_exchange)
    order = await ex.place_order(limit(Side.BUY, "0.1", "30000", time_in_force="IOC"))
    assert order.status == OrderStatus.EXPIRED
    assert (await ex.account()).asset("USDT").locked == 0
    assert await code_of(ex.place_order(limit(Side.BUY, "0.1", "30000", time_in_force="GTD"))) == -1115


async def test_stop_loss_limit_and_take_profit_limit(open_exchange: Open) -> None:
    ex = await funded(open_exchange, cross={"USDT": "20000", "BTC": "1"})
    req = OrderRequest("BTCUSDT", Side.SELL, OrderType.STOP_LOSS_LIMIT, quantity=D("0.5"), price=D("29900"),
                       stop_price=D("30000"))
    assert await code_of(ex.place_order(OrderRequest(
        "BTCUSDT", Side.SELL, OrderType.STOP_LOSS_LIMIT, quantity=D("0.5"), price=D("36000"),
        stop_price=D("36000")))) == -2010  # would trigger immediately
    stop = await ex.place_order(req)
    assert (await ex.account()).asset("BTC").locked == D("0.5")
    await ex.set_price("BTCUSDT", D("29000"))  # triggers, but 29,000 < limit: rests as a limit
    assert (await ex.get_order("BTCUSDT", order_id=stop.order_id)).status == OrderStatus.NEW
    await ex.set_price("BTCUSDT", D("29950"))
    done = await ex.get_order("BTCUSDT", order_id=stop.order_id)
    assert done.status == OrderStatus.FILLED and done.fills[0].price == D("29900")

    tp = await ex.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.TAKE_PROFIT_LIMIT, quantity=D("0.1"),
                                           price=D("28100"), stop_price=D("28000")))
    await ex.set_price("BTCUSDT", D("28050"))
    assert (await ex.get_order("BTCUSDT", order_id=tp.order_id)).status == OrderStatus.NEW
    await ex.set_price("BTCUSDT", D("28000"))  # BUY take-profit triggers at ≤ stop, marketable
    done = await ex.get_order("BTCUSDT", order_id=tp.order_id)
    assert done.status == OrderStatus.FILLED and done.fills[0].price == D("28000")


async def test_margin_buy_limit_borrows_at_placement_and_repays_at_cancel(open_exchange: Open) -> None:
    ex = await funded(open_exchange, usdt="10000")
    order = await ex.place_order(limit(Side.BUY, "0.5", "30000", SideEffect.MARGIN_BUY))
    assert (order.margin_buy_borrow_amount, order.margin_buy_borrow_asset) == (D("5000"), "USDT")
    snap = await ex.account()
    assert snap.asset("USDT").borrowed == D("5000") and snap.asset("USDT").locked == D("15000")
    await ex.advance(3600)  # interest accrues although it never filled
    assert (await ex.account()).asset("USDT").interest == D("0.1")
    await ex.cancel_order("BTCUSDT", order_id=order.order_id)
    snap = await ex.account()
    usdt = snap.asset("USDT")
    # autoRepayAtCancel: repay the unused 5,000 (interest first) → 0.1 of principal stays borrowed
    assert (usdt.locked, usdt.interest, usdt.borrowed, usdt.free) == (0, 0, D("0.1"), D("10000"))
    repay = (await ex.loan_records(LoanType.REPAY))[0]
    assert (repay.kind, repay.amount, repay.interest) == ("AUTO", D("5000"), D("0.1"))

    kept = await ex.place_order(limit(Side.BUY, "0.5", "30000", SideEffect.MARGIN_BUY,
                                      auto_repay_at_cancel=False))
    await ex.cancel_order("BTCUSDT", order_id=kept.order_id)
    assert (await ex.account()).asset("USDT").borrowed == D("5000.1")


async def test_auto_repay_at_cancel_never_repays_more_than_is_owed(open_exchange: Open) -> None:
    ex = await funded(open_exchange, usdt="10000")
    order = await ex.place_order(limit(Side.BUY, "0.5", "30000", SideEffect.MARGIN_BUY))
    await ex.transfer("USDT", D("6000"), SPOT, CROSS)
    await ex.repay("USDT", D("5000.05"))  # the whole MARGIN_BUY loan, by hand, before the cancel
    await ex.cancel_order("BTCUSDT", order_id=order.order_id)
    usdt = (await ex.account()).asset("USDT")
    assert (usdt.borrowed, usdt.interest, usdt.locked, usdt.free) == (0, 0, 0, D("15999.95"))
    assert [r.kind for r in await ex.loan_records(LoanType.REPAY)] == ["MANUAL"]


async def test_auto_borrow_repay_flag(open_exchange: Open) -> None:
    ex = await funded(open_exchange, allow_auto_borrow_repay=False)
    assert await code_of(ex.place_order(market(Side.SELL, "0.1", SideEffect.AUTO_BORROW_REPAY))) == -1102
    ex2 = await funded(open_exchange, allow_auto_borrow_repay=True)
    sold = await ex2.place_order(market(Side.SELL, "0.1", SideEffect.AUTO_BORROW_REPAY))
    assert sold.margin_buy_borrow_amount == D("0.1")
    await ex2.place_order(market(Side.BUY, "0.10001", SideEffect.AUTO_BORROW_REPAY))
    btc = (await ex2.account()).asset("BTC")
    assert btc.borrowed == 0 and btc.interest == 0 and btc.free == D("0.00001") - D("0.000001")


async def test_oco_legs_price_rule_and_one_cancels_the_other(open_exchange: Open) -> None:
    ex = await funded(open_exchange, cross={"USDT": "20000", "BTC": "2"})
    assert await code_of(ex.place_oco("BTCUSDT", Side.SELL, D("1"), D("34000"), D("30000"))) == -2010
    oco = await ex.place_oco("BTCUSDT", Side.SELL, D("1"), D("40000"), D("30000"))
    stop_leg, limit_leg = oco.orders
    assert (stop_leg.type, limit_leg.type) == (OrderType.STOP_LOSS, OrderType.LIMIT_MAKER)
    assert oco.list_status == "EXEC_STARTED"
    assert (await ex.account()).asset("BTC").locked == D("1")  # one lock for both legs
    await ex.set_price("BTCUSDT", D("40000"))
    oco = await ex.get_order_list("BTCUSDT", order_list_id=oco.order_list_id)
    assert [o.status for o in oco.orders] == [OrderStatus.EXPIRED, OrderStatus.FILLED]
    assert oco.list_status == "ALL_DONE"
    assert oco.orders[1].fills[0].price == D("40000")

    oco2 = await ex.place_oco("BTCUSDT", Side.SELL, D("0.5"), D("45000"), D("35000"),
                              stop_limit_price=D("34900"))
    await ex.set_price("BTCUSDT", D("34950"))  # stop triggers; marketable against its 34,900 limit
    oco2 = await ex.get_order_list("BTCUSDT", order_list_id=oco2.order_list_id)
    assert [o.status for o in oco2.orders] == [OrderStatus.FILLED, OrderStatus.EXPIRED]
    assert oco2.orders[0].fills[0].price == D("34950")

    oco3 = await ex.place_oco("BTCUSDT", Side.BUY, D("0.1"), D("30000"), D("40000"))
    assert (await ex.account()).asset("USDT").locked == D("4000")  # the larger leg requirement
    cancelled = await ex.cancel_order("BTCUSDT", order_id=oco3.orders[1].order_id)
    assert cancelled.status == OrderStatus.CANCELED
    oco3 = await ex.get_order_list("BTCUSDT", order_list_id=oco3.order_list_id)
    assert [o.status for o in oco3.orders] == [OrderStatus.CANCELED, OrderStatus.CANCELED]
    assert (await ex.account()).asset("USDT").locked == 0
    assert await ex.open_orders() == []


# ---------------------------------------------------------------------------- interest schedule


async def test_interest_aggregates_per_hour_and_charges_the_boundary_hour(open_exchange: Open) -> None:
    ex = await funded(open_exchange, start_time=utc(2024, 1, 1, 0, 10), cross={"USDT": "20000", "BTC": "0.1"})
    await ex.borrow("BTC", D("0.5"))
    await ex.advance(600)
    await ex.borrow("BTC", D("0.5"))  # same hour: one ON_BORROW row with both principals
    [row] = await ex.interest_history(asset="BTC")
    assert (row.type, row.principal, row.interest) == ("ON_BORROW", D("1"), D("0.00001"))
    assert row.time == utc(2024, 1, 1)
    await ex.advance(40 * 60)  # exactly 01:00:00.000 → that hour is charged before the repay
    snap = await ex.account()
    assert snap.asset("BTC").interest == D("0.00002")
    await ex.repay("BTC", D("1.00002"))
    await ex.advance(5 * 3600)
    rows = await ex.interest_history(asset="BTC")
    assert [(r.type, r.time) for r in rows] == [("PERIODIC", utc(2024, 1, 1, 1)), ("ON_BORROW", utc(2024, 1, 1))]
    assert all(r.interest > 0 for r in rows)


# ---------------------------------------------------------------------------- liquidation edge cases


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


def test_decimal_inputs_only() -> None:
    from adapters.paper.exchange import _dec

    assert _dec(3) == Decimal(3) and _dec("0.1") == Decimal("0.1")
    with pytest.raises(TypeError):
        _dec(0.1)
