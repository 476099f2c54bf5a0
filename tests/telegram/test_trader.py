"""The trader's order commands through the real PTB Application and the fake Bot API: /order, /orders,
/oco, /cancelorder with their prompts and buttons, a viewer refused, and the requester told on a fill."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from adapters.telegram import TelegramBot
from chatbot.core import DeskCore
from tests.fakes.telegram import FakeTelegram
from tests.telegram.desk import ALICE, CAROL, DAVE
from tests.telegram.test_flows import message_of, press, say, tokens

MakeCore = Callable[..., Awaitable[DeskCore]]
MakeBot = Callable[..., Awaitable[TelegramBot]]


async def test_orders_on_telegram(fake: FakeTelegram, make_core: MakeCore, make_bot: MakeBot) -> None:
    core = await make_core(paper=True)
    await make_bot(core)
    (denied,) = await say(fake, DAVE, "/order buy BTCUSDT 0.1 limit 30000")
    assert "needs the trader role" in denied.result["text"]
    (prompt,) = await say(fake, CAROL, "/order buy BTCUSDT 0.1 limit 30000")
    text = prompt.result["text"]
    assert "Confirm limit buy 0.1 BTCUSDT @ 30000 (cross)?" in text, text
    assert "LIMIT BUY 0.1 BTCUSDT @ 30000 MARGIN_BUY (cross)" in text
    answer = await press(fake, CAROL, message_of(fake, prompt), tokens(prompt)[0])
    assert answer.ok
    (listed,) = await say(fake, DAVE, "/orders")
    shown = listed.result["text"]
    assert "BUY 0.1 BTCUSDT limit @ 30,000.00" in shown and "by carol" in shown, shown
    (order,) = await core.exchange.open_orders("BTCUSDT")
    before = len(fake.calls_of("sendMessage"))
    fake.command(ALICE, "/price BTCUSDT 29000")
    calls = (await fake.wait_for("sendMessage", before + 2))[before:]
    told = [c for c in calls if c.params["chat_id"] == CAROL]
    assert told and "Your order filled: LIMIT BUY 0.1 BTCUSDT @ 30000 MARGIN_BUY (cross)" in told[0].result["text"]
    assert await core.exchange.open_orders("BTCUSDT") == []
    (oco,) = await say(fake, CAROL, "/oco sell BTCUSDT 0.1 31000 28000")
    assert "OCO SELL 0.1 BTCUSDT limit 31000 / stop 28000 AUTO_REPAY (cross)" in oco.result["text"]
    await press(fake, CAROL, message_of(fake, oco), tokens(oco)[0])
    legs = await core.exchange.open_orders("BTCUSDT")
    assert len(legs) == 2 and order.order_id not in {o.order_id for o in legs}
    (cancel,) = await say(fake, CAROL, f"/cancelorder {legs[0].order_id}")
    assert f"CANCEL OCO list {legs[0].order_list_id} BTCUSDT (cross)" in cancel.result["text"], cancel.result["text"]
    (done,) = await say(fake, CAROL, "/confirm")
    assert "Done" in done.result["text"] and f"cancel order {legs[0].order_id}" in done.result["text"]
    assert await core.exchange.open_orders("BTCUSDT") == []
