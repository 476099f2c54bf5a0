"""The trader's view on the live adapter: python-binance against the fake Binance (myTrades, ticker/24hr,
universal transfer), through the same core. Entry prices and P&L come from the exchange's trade history and
survive a restart; /price quotes the 24 h change; /transfer moves collateral with one POST."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from chatbot.exchange import Side
from chatbot.store.db import session_scope
from chatbot.trader.tables import DeskFill
from tests.binance.live import LiveDesk, open_live_desk
from tests.fakes.binance import FakeBinance

TRANSFERS = "/sapi/v1/asset/transfer"


async def test_my_trades_and_the_24h_change_through_python_binance(desk: LiveDesk) -> None:
    assert (await desk.confirmed("carol", "/short BTCUSDT 0.5")).title.startswith("Done")
    trades = await desk.exchange.my_trades("BTCUSDT")
    (sold,) = trades
    assert (sold.side, sold.qty, sold.price, sold.isolated) == (Side.SELL, Decimal("0.5"), Decimal("35000"), False)
    assert await desk.exchange.my_trades("BTCUSDT", from_id=sold.trade_id + 1) == []
    desk.fake.day_open = {"BTCUSDT": Decimal("34000")}  # type: ignore[attr-defined]
    assert await desk.exchange.price_change_24h("BTCUSDT") == Decimal("2.941")
    quote = await desk.say("dave", "/price BTCUSDT")
    assert quote.title == "BTCUSDT 35,000.00 (+2.94% in 24 h)", quote.title
    drill = await desk.say("alice", "/price BTCUSDT 30000")
    assert "paper-exchange drill" in drill.title  # live: the drill is refused, nothing moves


async def test_positions_and_pnl_from_the_exchanges_history_survive_a_restart(fake: FakeBinance, db_url: str) -> None:
    desk = await open_live_desk(fake, db_url)
    try:
        assert (await desk.confirmed("carol", "/short BTCUSDT 1")).title.startswith("Done")
        await fake.set_price("BTCUSDT", "30000")
        positions = await desk.say("dave", "/positions")
        assert "cross · BTC short 1.00001 BTC" in positions.lines, positions.text()
        assert "  Entry 35,000.00 · mark 30,000.00" in positions.lines
        assert "  P&L +5,000.00 USDT (+14.29%)" in positions.lines
    finally:
        await desk.close()
    desk = await open_live_desk(fake, db_url)  # a restart: the fills are in the desk's database
    try:
        with session_scope(desk.engine) as s:
            assert s.execute(select(func.count()).select_from(DeskFill)).scalar_one() == 1
        await fake.set_price("BTCUSDT", "25000")
        done = await desk.confirmed("carol", "/close BTCUSDT")
        assert ("Realized P&L", "+10,000.00 USDT trading, interest paid 0.25 USDT") in done.fields, done.text()
        pnl = dict((await desk.say("dave", "/pnl")).fields)
        assert pnl["Trading (realized)"] == "+10,000.00 USDT" and pnl["Interest"] == "0.25 USDT"
    finally:
        await desk.close()


async def test_transfer_on_the_live_adapter_is_one_post_and_an_intent(desk: LiveDesk) -> None:
    done = await desk.confirmed("carol", "/transfer USDT 1000 spot cross")
    assert done.title.startswith("Done") and "transfer 1000 USDT spot → cross" in done.title, done.text()
    assert desk.fake.count("POST", TRANSFERS) == 1
    assert [(i.kind, i.state) for i in desk.intents()] == [("transfer", "DONE")]
    assert desk.cross("USDT").free == Decimal("21000")
    balance = await desk.say("dave", "/balance")
    assert balance.title == "Balances — net 25,000.00 USDT", balance.text()
