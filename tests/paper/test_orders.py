"""Orders on the paper exchange: Binance's symbol filters and error codes, client order ids, commissions,
time in force, stop and take-profit triggers, margin side effects (borrow at placement, repay at cancel), OCOs.

Each test pins one rule of the reference (§4, §5) or one [choice] the paper exchange makes.
"""

from __future__ import annotations

import re

import pytest

from chatbot.exchange import (
    CROSS,
    SPOT,
    ExchangeError,
    LoanType,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    SideEffect,
)

from .helpers import D, Open, code_of, funded, limit, market


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
