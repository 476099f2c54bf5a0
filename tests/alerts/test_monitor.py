"""The margin monitor on the paper exchange: scripted price paths, restarts, escalation, acknowledgement."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from chatbot.config import AlertsConfig, ChannelConfig, DeskConfig, PaperConfig
from chatbot.replies import Actor, Severity
from tests.core.desk import AUDIT_KEY, MEMBERS, DeskUnderTest, short_id
from tests.recorders import Recorder

PAPER = PaperConfig(prices={"BTCUSDT": Decimal("30000")}, cross={"USDT": Decimal("10000")},
                    daily_interest_rates={"BTC": Decimal("0.00024"), "USDT": Decimal("0.00024")},
                    taker_fee=Decimal("0"), maker_fee=Decimal("0"))
ALERTS = AlertsConfig(warn_level=Decimal("1.3"), hysteresis=Decimal("0.05"), repeat_interval_seconds=1800,
                      escalate_after_seconds=86400)
CHANNELS = [ChannelConfig(platform="console", id="desk", kinds={"margin": "on", "interest": "on"})]


async def desk_on(url: str, alerts: AlertsConfig = ALERTS) -> tuple[DeskUnderTest, Recorder]:
    from adapters.paper import PaperExchange
    from chatbot.core import DeskCore
    from chatbot.store import migrate
    from chatbot.store.db import make_engine
    from tests.core.desk import FakeClock

    migrate.upgrade(url)
    engine = make_engine(url)
    exchange = await PaperExchange.open(engine, PAPER)
    clock = FakeClock()
    core = DeskCore(engine=engine, exchange=exchange, clock=clock, audit_key=AUDIT_KEY,
                    desk=DeskConfig(members=MEMBERS, paper=PAPER, alerts=alerts, channels=CHANNELS))
    await core.start()
    recorder = Recorder()
    core.notifier.register(recorder)
    return DeskUnderTest(url, core, exchange, clock), recorder


async def open_3x_long(desk: DeskUnderTest) -> None:
    """Example B of the reference: 10,000 USDT, buy 1 BTC at 30,000 borrowing 20,000 USDT."""
    prompt = await desk.say("carol", "/long BTCUSDT 1")
    reply = await desk.say("carol", f"/confirm {short_id(prompt)}")
    if "approval" in reply.title:
        reply = await desk.say("alice", f"/approve {short_id(prompt)}")
    assert reply.title.startswith("Done"), reply.title


async def tick(desk: DeskUnderTest, price: str, minutes: int = 10) -> None:
    await desk.exchange.advance(minutes * 60)
    await desk.exchange.set_price("BTCUSDT", Decimal(price))


OSCILLATION = ["26000", "26100", "25990", "26120", "26050", "25980", "26110", "26000", "26090"]


async def test_oscillating_path_fires_once_repeats_rarely_resolves_once(db_url: str) -> None:
    desk, rec = await desk_on(db_url)
    try:
        await open_3x_long(desk)
        assert rec.events() == Counter()  # ML 1.49998: above the 1.3 bar
        for price in OSCILLATION * 3:  # 27 ticks, 10 paper minutes apart: 4.5 hours around the bar
            await tick(desk, price)
        await tick(desk, "33000")
        events = rec.events()
        assert events["fire"] == 1
        assert events["resolve"] == 1
        assert events["repeat"] <= 270 // 30
        fire = next(n for n in rec.channel if n.data.get("event") == "fire")
        text = fire.reply.text()
        assert "MARGIN CALL" in fire.reply.title and fire.reply.severity is Severity.ERROR
        assert "Liquidation at" in text and "Quickest ways back" in text and "USDT of collateral" in text
        assert fire.reply.actions[0].label == "Acknowledge"
    finally:
        await desk.close()


async def test_restart_in_the_middle_does_not_duplicate(db_url: str) -> None:
    desk, rec = await desk_on(db_url)
    await open_3x_long(desk)
    for price in OSCILLATION[:4]:
        await tick(desk, price, minutes=1)
    await desk.close()
    again, rec2 = await desk_on(db_url)
    try:
        for price in OSCILLATION[4:]:
            await tick(again, price, minutes=1)
        await again.core.monitor.check_all()
        await tick(again, "33000", minutes=1)
        assert rec.events()["fire"] == 1
        assert rec2.events()["fire"] == 0 and rec2.events()["resolve"] == 1
        assert rec2.events()["repeat"] == 0
    finally:
        await again.close()


async def test_escalation_without_acknowledgement(db_url: str) -> None:
    alerts = ALERTS.model_copy(update={"escalate_after_seconds": 600})
    desk, rec = await desk_on(db_url, alerts)
    try:
        await open_3x_long(desk)
        await tick(desk, "26000", minutes=1)
        await tick(desk, "26010", minutes=11)
        await tick(desk, "26020", minutes=11)
        assert rec.events()["escalate"] == 1
        escalation = next(n for n in rec.channel if n.data.get("event") == "escalate")
        assert set(escalation.reply.mentions) == {"alice", "bob"}
        assert {name for name, n in rec.dms if n.data.get("event") == "escalate"} == {"alice", "bob"}
    finally:
        await desk.close()


async def test_acknowledgement_stops_escalation(db_url: str) -> None:
    alerts = ALERTS.model_copy(update={"escalate_after_seconds": 600})
    desk, rec = await desk_on(db_url, alerts)
    try:
        await open_3x_long(desk)
        await tick(desk, "26000", minutes=1)
        fire = next(n for n in rec.channel if n.data.get("event") == "fire")
        viewer = await desk.core.press(fire.reply.actions[0].token, Actor("console", "dave"))
        assert viewer.severity is Severity.ERROR
        ack = await desk.core.press(fire.reply.actions[0].token, Actor("console", "carol"))
        assert "acknowledged by carol" in ack.title
        await tick(desk, "26010", minutes=11)
        await tick(desk, "26020", minutes=11)
        assert rec.events()["escalate"] == 0
    finally:
        await desk.close()


async def test_price_drill_in_console_shows_alert(db_url: str) -> None:
    desk, _ = await desk_on(db_url)
    try:
        await open_3x_long(desk)
        out = await desk.console("/price BTCUSDT 26000\n", "alice")
        assert "» #desk [margin] MARGIN CALL — cross margin level 1.2999" in out
    finally:
        await desk.close()
