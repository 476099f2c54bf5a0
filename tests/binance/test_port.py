"""The rest of the port on live endpoints: OCO, cancels, transfers (two hops, undone when the second leg is
refused), records with paging and 30-day windows, max borrowable/transferable, spot balances, prices."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest

from adapters.binance import BinanceExchange, connect
from adapters.paper import PaperExchange, create_tables
from chatbot.exchange import (
    Exchange,
    ExchangeError,
    LoanType,
    OrderNotFound,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    SideEffect,
)
from chatbot.store.db import make_engine
from tests.binance.live import FAST, QUICK, SYMBOLS, live_settings
from tests.core.desk import PAPER
from tests.fakes.binance import FakeBinance

TRANSFER = "/sapi/v1/asset/transfer"
D = Decimal


@pytest.fixture
async def exchange(fake: FakeBinance) -> AsyncIterator[BinanceExchange]:
    ex, _ = await connect(live_settings(fake), engine=None, timeouts=FAST, consistency=QUICK, options=SYMBOLS)
    yield ex
    await ex.close()


async def test_both_exchanges_implement_the_port(exchange: BinanceExchange) -> None:
    engine = make_engine("sqlite://")
    create_tables(engine)
    paper = await PaperExchange.open(engine, PAPER)
    assert isinstance(exchange, Exchange) and isinstance(paper, Exchange)


async def test_oco_place_query_cancel(exchange: BinanceExchange, fake: FakeBinance) -> None:
    olist = await exchange.place_oco("BTCUSDT", Side.BUY, D("0.1"), D("34000"), D("36000"),
                                     list_client_order_id="desk-oco-1")
    assert olist.list_status == "EXEC_STARTED" and len(olist.orders) == 2
    assert {o.type for o in olist.orders} == {OrderType.LIMIT_MAKER, OrderType.STOP_LOSS}
    post = fake.requests("POST", "/sapi/v1/margin/order/oco")[0].params
    assert (post["price"], post["stopPrice"], post["quantity"]) == ("34000", "36000", "0.1")
    by_id = await exchange.get_order_list("BTCUSDT", order_list_id=olist.order_list_id)
    by_cid = await exchange.get_order_list("BTCUSDT", list_client_order_id="desk-oco-1")
    assert by_id.order_list_id == by_cid.order_list_id == olist.order_list_id
    assert len(await exchange.open_orders("BTCUSDT")) == 2
    done = await exchange.cancel_order_list("BTCUSDT", list_client_order_id="desk-oco-1")
    assert done.list_status == "ALL_DONE" and await exchange.open_orders("BTCUSDT") == []
    assert [o.status for o in await exchange.all_orders("BTCUSDT")] == [OrderStatus.CANCELED] * 2
    assert (await exchange.account()).asset("USDT").locked == 0


async def test_limit_order_cancel_by_client_id(exchange: BinanceExchange) -> None:
    placed = await exchange.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, quantity=D("0.01"),
                                                     price=D("30000"), client_order_id="desk-lim-1"))
    assert placed.status == OrderStatus.NEW and placed.price == D("30000")
    assert (await exchange.account()).asset("USDT").locked == D("300")
    cancelled = await exchange.cancel_order("BTCUSDT", client_order_id="desk-lim-1")
    assert cancelled.status == OrderStatus.CANCELED and cancelled.client_order_id == "desk-lim-1"
    assert (await exchange.get_order("BTCUSDT", order_id=placed.order_id)).status == OrderStatus.CANCELED
    with pytest.raises(OrderNotFound) as info:
        await exchange.cancel_order("BTCUSDT", client_order_id="desk-lim-1")
    assert info.value.code == -2011


async def test_spot_to_isolated_is_two_hops_and_back(exchange: BinanceExchange, fake: FakeBinance) -> None:
    await exchange.transfer("USDT", D("1000"), "SPOT", "ISOLATED:BTCUSDT")
    legs = [(r.params["type"], r.params.get("toSymbol")) for r in fake.requests("POST", TRANSFER)]
    assert legs == [("MAIN_MARGIN", None), ("MARGIN_ISOLATEDMARGIN", "BTCUSDT")]
    assert await exchange.spot_balances() == {"USDT": D("4000")}
    assert await exchange.isolated_symbols() == ["BTCUSDT"]
    assert (await exchange.account("BTCUSDT")).asset("USDT").free == D("1000")
    (rec,) = await exchange.transfer_records(account="ISOLATED:BTCUSDT")
    assert (rec.from_account, rec.to_account, rec.amount) == ("CROSS", "ISOLATED:BTCUSDT", D("1000"))
    assert await exchange.max_transferable("USDT", "BTCUSDT") == D("1000")
    await exchange.transfer("USDT", D("1000"), "ISOLATED:BTCUSDT", "SPOT")
    legs = [(r.params["type"], r.params.get("fromSymbol")) for r in fake.requests("POST", TRANSFER)[2:]]
    assert legs == [("ISOLATEDMARGIN_MARGIN", "BTCUSDT"), ("MARGIN_MAIN", None)]
    assert await exchange.spot_balances() == {"USDT": D("5000")}
    assert fake.requests("POST", "/sapi/v1/margin/transfer") == []  # the removed endpoint is never used


async def test_second_hop_refused_undoes_the_first(exchange: BinanceExchange, fake: FakeBinance) -> None:
    fake.fail("POST", TRANSFER, "error", skip=1, code=-3020, msg="Transfer out amount exceeds max amount.")
    with pytest.raises(ExchangeError, match="the first leg was undone; nothing moved") as info:
        await exchange.transfer("USDT", D("1000"), "SPOT", "ISOLATED:BTCUSDT")
    assert info.value.code == -3020
    assert [r.params["type"] for r in fake.requests("POST", TRANSFER)] == [
        "MAIN_MARGIN", "MARGIN_ISOLATEDMARGIN", "MARGIN_MAIN"]
    assert await exchange.spot_balances() == {"USDT": D("5000")}
    assert (await exchange.account()).asset("USDT").free == D("20000")


async def test_max_borrowable_live_and_derived_agree(exchange: BinanceExchange, fake: FakeBinance) -> None:
    await exchange.borrow("USDT", D("5000"))
    live = await exchange.max_borrowable("BTC")  # no snapshot taken: asks Binance
    assert fake.count("GET", "/sapi/v1/margin/maxBorrowable") == 1
    await exchange.account()
    derived = await exchange.max_borrowable("BTC")  # right after a snapshot: from its own figures
    assert fake.count("GET", "/sapi/v1/margin/maxBorrowable") == 1
    assert derived == live and isinstance(live, Decimal) and live > 0


async def test_records_page_and_split_into_30_day_windows(exchange: BinanceExchange, fake: FakeBinance) -> None:
    for _ in range(101):
        await exchange.borrow("USDT", D("1"))
    start = (await exchange.now()) - timedelta(days=45)
    loans = await exchange.loan_records(LoanType.BORROW, asset="USDT", start=start)
    assert len(loans) == 101 and loans[0].time >= loans[-1].time and all(r.amount == 1 for r in loans)
    await fake.advance(3600)
    await exchange.t.resync()
    interest = await exchange.interest_history(asset="USDT", start=start - timedelta(days=20))
    assert interest[0].type == "PERIODIC" and interest[0].principal == D("101")
    assert all(isinstance(r.interest, Decimal) and isinstance(r.daily_rate, Decimal) for r in interest)
    windows = [r for r in fake.requests("GET", "/sapi/v1/margin/interestHistory")]
    assert len(windows) == 3 and all(s.status == 200 for s in windows)  # 65 days in three spans


async def test_liquidation_records(exchange: BinanceExchange, fake: FakeBinance) -> None:
    await exchange.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=D("1.7"),
                                            side_effect=SideEffect.MARGIN_BUY))
    await fake.set_price("BTCUSDT", "25000")  # below the 1.1 bar: Binance liquidates
    (rec,) = await exchange.liquidation_records()
    assert rec.side == Side.SELL and rec.symbol == "BTCUSDT" and not rec.isolated
    assert rec.qty > 0 and rec.avg_price == D("25000")
    assert await exchange.liquidation_records(isolated_symbol="BTCUSDT") == []


async def test_prices_pairs_and_spot(exchange: BinanceExchange) -> None:
    assert await exchange.prices() == {"BTCUSDT": D("35000"), "ETHUSDT": D("2000")}
    assert await exchange.index_price("ethusdt") == D("2000")
    assert await exchange.margin_pairs() == ["BTCUSDT", "ETHUSDT"]
    assert (await exchange.symbols())["BTCUSDT"].step_size == D("0.00001")
    assert await exchange.trade_fee("BTCUSDT") == 0
    assert await exchange.spot_balances() == {"USDT": D("5000")}
