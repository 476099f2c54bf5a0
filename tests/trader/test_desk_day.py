"""The issue's "Done when": a desk day — open a long and a short, move prices, add collateral with /transfer,
close half, close the rest — with correct positions, P&L and balances at every step, on the console and on
Telegram; and the worked P&L examples to the last digit."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.paper import PaperExchange
from chatbot.config import DeskConfig
from chatbot.core import DeskCore
from chatbot.store.db import make_engine
from tests.chat_desk import migrated_template
from tests.core.desk import AUDIT_KEY, DeskUnderTest, open_desk
from tests.fakes.telegram import FakeTelegram
from tests.telegram.desk import ALICE, CAROL, DAVE, MEMBERS, new_bot
from tests.trader.desk import DESK_DAY, TWO_PAIRS, worked

TELEGRAM_IDS = {"alice": ALICE, "carol": CAROL, "dave": DAVE}


@pytest.fixture
async def desk(db_url: str) -> AsyncIterator[DeskUnderTest]:
    d = await open_desk(db_url, paper=TWO_PAIRS)
    yield d
    await d.close()


async def test_the_desk_day_on_the_console(desk: DeskUnderTest) -> None:
    for who, text, expected in DESK_DAY:
        out = await desk.console(text + "\n", who)
        for snippet in expected:
            assert snippet in out, (text, snippet, out)
    cross = await desk.exchange.account(None)
    assert cross.total_liability_value == 0 and cross.net_value == Decimal("21999.74")  # exact, in Decimal


async def test_the_desk_day_on_telegram(tmp_path: Path) -> None:
    template = migrated_template(tmp_path)
    db = tmp_path / "desk.db"
    shutil.copy(template, db)
    engine = make_engine(f"sqlite:///{db}")
    exchange = await PaperExchange.open(engine, TWO_PAIRS)
    core = DeskCore(engine=engine, exchange=exchange, desk=DeskConfig(members=MEMBERS, paper=TWO_PAIRS),
                    audit_key=AUDIT_KEY)
    await core.start()
    async with FakeTelegram() as fake:
        bot = new_bot(core, fake)
        await bot.start()
        try:
            for who, text, expected in DESK_DAY:
                before = len(fake.calls_of("sendMessage"))
                fake.command(TELEGRAM_IDS[who], text)
                (call,) = (await fake.wait_for("sendMessage", before + 1))[before:before + 1]
                shown = call.result["text"]
                for snippet in expected:
                    assert snippet in shown, (text, snippet, shown)
                tables = re.findall(r"<pre>(.*?)</pre>", call.params["text"], re.S)
                assert all(len(line) <= 40 for t in tables for line in t.split("\n")), shown  # fits a phone
        finally:
            await bot.stop()
            await exchange.close()
            engine.dispose()


async def test_worked_example_short_35000_bought_back_at_25000(db_url: str) -> None:
    desk = await open_desk(db_url, paper=worked("20000", "35000"))
    try:
        out = await desk.console("/short BTCUSDT 1\n/confirm\n/as alice\n/price BTCUSDT 25000\n/as carol\n"
                                 "/close BTCUSDT\n/confirm\n/pnl\n", "carol")
        assert "Realized P&L: +10,000.00 USDT trading, interest paid 0.25 USDT" in out, out
        for line in ("Equity at start: 20,000.00 USDT", "Trading (realized): +10,000.00 USDT", "Interest: 0.25 USDT",
                     "Realized net: +9,999.75 USDT", "Equity now: 29,999.75 USDT"):
            assert line in out, (line, out)
        assert (await desk.exchange.account(None)).net_value == Decimal("29999.75")
    finally:
        await desk.close()


async def test_worked_example_2x_long_25000_sold_at_40000(db_url: str) -> None:
    desk = await open_desk(db_url, paper=worked("25000", "25000"))
    try:
        out = await desk.console("/long BTCUSDT 2\n/confirm\n/as alice\n/price BTCUSDT 40000\n/as carol\n"
                                 "/close BTCUSDT\n/confirm\n/pnl\n", "carol")
        assert "Exchange calls: MARKET BUY 2 BTCUSDT MARGIN_BUY" in out and "Leverage after: 2.00x" in out, out
        assert "Realized P&L: +30,000.00 USDT trading" in out, out
        for line in ("Equity at start: 25,000.00 USDT", "Trading (realized): +30,000.00 USDT", "Interest: 0.25 USDT",
                     "Realized net: +29,999.75 USDT", "Equity now: 54,999.75 USDT"):
            assert line in out, (line, out)
        assert (await desk.exchange.account(None)).net_value == Decimal("54999.75")
    finally:
        await desk.close()
