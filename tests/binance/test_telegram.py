"""Telegram on the live adapter: the real PTB bot polling the fake Bot API, the desk core on the fake Binance."""

from __future__ import annotations

from decimal import Decimal

from adapters.telegram import TelegramBot
from tests.binance.live import LiveDesk
from tests.fakes.telegram import FakeTelegram
from tests.telegram.desk import CAROL, new_bot
from tests.telegram.test_flows import message_of, press, say, tokens


async def test_status_and_a_confirmed_borrow_over_telegram(desk: LiveDesk) -> None:
    async with FakeTelegram() as telegram:
        bot: TelegramBot = new_bot(desk.core, telegram)
        await bot.start()
        try:
            (status,) = await say(telegram, CAROL, "/status")
            assert status.result["text"].startswith("✅ Status — cross margin"), status.result["text"]
            assert "20,000.00 USDT" in status.result["text"]
            (prompt,) = await say(telegram, CAROL, "/borrow USDT 100")
            assert prompt.result["text"].startswith("⚠️ LIVE BINANCE · Confirm borrow 100 USDT (cross)?")
            assert desk.fake.count("POST", "/sapi/v1/margin/borrow-repay") == 0
            confirm, _ = tokens(prompt)
            await press(telegram, CAROL, message_of(telegram, prompt), confirm)
            (edit,) = await telegram.wait_for("editMessageText")
            assert "✅ Done [" in edit.result["text"]
        finally:
            await bot.stop()
    assert desk.fake.count("POST", "/sapi/v1/margin/borrow-repay") == 1
    assert desk.cross("USDT").borrowed == Decimal("100")
