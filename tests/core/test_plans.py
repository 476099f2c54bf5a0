"""Previews tell the truth: the margin level a prompt promises is the one the exchange shows after."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chatbot.config import PaperConfig, PolicyConfig
from tests.core.desk import open_desk, short_id

PAPER = PaperConfig(prices={"BTCUSDT": Decimal("30000")}, cross={"USDT": Decimal("10000")},
                    daily_interest_rates={"BTC": Decimal("0.00024"), "USDT": Decimal("0.00024")},
                    taker_fee=Decimal("0"), maker_fee=Decimal("0"))
LENIENT = PolicyConfig(min_margin_level=Decimal("1.1"), approval_margin_level=Decimal("1.1"),
                       default_max_leverage=Decimal("10"))


@pytest.mark.parametrize(("command", "ml_after"), [
    ("/long BTCUSDT 1", Decimal(30000) / Decimal("20000.2")),  # Example B2 of the reference: 1.49998500
    ("/short BTCUSDT 0.5", Decimal(25000) / Decimal("15000.15")),  # 0.5 BTC + 0.000005 BTC ON_BORROW interest
    ("/borrow USDT 5000", Decimal(15000) / Decimal("5000.05")),  # 5000 USDT + 0.05 ON_BORROW interest
])
async def test_preview_matches_the_exchange_after(sqlite_url: str, command: str, ml_after: Decimal) -> None:
    ml_after = ml_after.quantize(Decimal("0.00000001"))
    desk = await open_desk(sqlite_url, paper=PAPER, policy=LENIENT)
    try:
        prompt = await desk.say("carol", command)
        pid = short_id(prompt)
        preview = desk.core.pending.by_short_id(pid)
        assert preview is not None
        assert Decimal(preview.preview["ml_after"]).quantize(Decimal("0.00000001")) == ml_after
        done = await desk.say("carol", f"/confirm {pid}")
        assert done.title.startswith("Done"), done.title
        snap = await desk.exchange.account(None)
        assert snap.margin_level.quantize(Decimal("0.00000001")) == ml_after
    finally:
        await desk.close()


async def test_long_then_close_round_trip(sqlite_url: str) -> None:
    desk = await open_desk(sqlite_url, paper=PAPER, policy=LENIENT)
    try:
        for text in ("/long BTCUSDT 1", "/close BTCUSDT"):
            prompt = await desk.say("carol", text)
            assert (await desk.say("carol", f"/confirm {short_id(prompt)}")).title.startswith("Done")
        snap = await desk.exchange.account(None)
        usdt = snap.asset("USDT")
        assert snap.asset("BTC").total == 0
        # 20000 borrowed + 0.2 ON_BORROW interest repaid from the 30000 proceeds
        assert usdt.borrowed == 0 and usdt.interest == 0 and usdt.free == Decimal("9999.8")
    finally:
        await desk.close()


def test_quantities_round_to_the_lot_step_in_decimal() -> None:
    from chatbot.money import ceil_to_step, floor_to_step

    step = Decimal("0.00001")
    assert ceil_to_step(Decimal("2.500025"), step) == Decimal("2.50003")  # a buy-back covers what is owed
    assert floor_to_step(Decimal("2.500025"), step) == Decimal("2.50002")  # a sale never sells more than held
    assert ceil_to_step(Decimal("0.5"), step) == floor_to_step(Decimal("0.5"), step) == Decimal("0.5")
    assert floor_to_step(Decimal("7"), Decimal(0)) == ceil_to_step(Decimal("7"), Decimal(0)) == Decimal("7")
