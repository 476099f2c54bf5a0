"""The daily interest summary: numbers equal the paper exchange's interest history; at most one per
account per day, also when a 3-day outage makes the scheduler catch up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from chatbot import scheduler
from chatbot.config import AlertsConfig
from chatbot.scheduler import (
    LeaderScheduler,
    apscheduler_jobs_table,
    build_scheduler,
    desk_job_specs,
    register_jobs,
)
from tests.alerts.test_monitor import ALERTS, desk_on
from tests.core.desk import short_id


async def borrow(desk, amount: str) -> None:  # type: ignore[no-untyped-def]
    prompt = await desk.say("carol", f"/borrow USDT {amount}")
    assert (await desk.say("carol", f"/confirm {short_id(prompt)}")).title.startswith("Done")


async def test_summary_matches_interest_history(db_url: str) -> None:
    desk, rec = await desk_on(db_url)
    try:
        await borrow(desk, "12000")
        await desk.exchange.advance(30 * 3600)
        now = await desk.exchange.now()
        notices = await desk.core.summarizer.run()
        assert len(notices) == 1
        history = await desk.exchange.interest_history(start=now - timedelta(hours=24), end=now)
        expected = sum((r.interest for r in history if now - timedelta(hours=24) <= r.time < now), Decimal(0))
        assert expected == Decimal("0.12") * 24 / Decimal(1)  # 12000 × 0.00024 / 24 = 0.12 USDT an hour
        assert Decimal(notices[0].data["total_usdt"]) == expected
        assert "Charged (24 h): 2.8800 USDT" in notices[0].reply.text()
        assert "Projected next 24 h: 2.8800 USDT" in notices[0].reply.text()
        assert await desk.core.summarizer.run() == []  # once per account per day
        assert [n.kind for n in rec.channel] == ["interest"]
    finally:
        await desk.close()


async def test_three_day_gap_gives_one_catch_up_summary(db_url: str) -> None:
    alerts = ALERTS.model_copy(update={"misfire_grace_seconds": 4 * 86400, "lease_seconds": 2})
    desk, rec = await desk_on(db_url, alerts)
    try:
        await borrow(desk, "12000")
        await desk.exchange.advance(26 * 3600)
        specs = [s for s in desk_job_specs(alerts) if s.id == scheduler.INTEREST_SUMMARY_JOB]
        scheduler.set_context(desk.core)
        leader = LeaderScheduler(desk.core.engine, specs, ttl=2)
        await leader.start()
        assert await leader.wait_for_leadership(5)
        await leader.stop()
        # The bot was down for three days: the stored next run is three days in the past.
        store = build_scheduler(desk.core.engine)
        store.start(paused=True)
        register_jobs(store, specs)
        store.modify_job(scheduler.INTEREST_SUMMARY_JOB, next_run_time=datetime.now(UTC) - timedelta(days=3))
        store.shutdown(wait=False)
        with desk.core.engine.connect() as conn:
            stored = conn.execute(sa.select(apscheduler_jobs_table(sa.MetaData()).c.next_run_time)).scalar_one()
        assert stored < (datetime.now(UTC) - timedelta(days=2)).timestamp()
        leader = LeaderScheduler(desk.core.engine, specs, ttl=2)
        await leader.start()
        assert await leader.wait_for_leadership(5)
        for _ in range(100):
            if rec.channel:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        await leader.stop()
        assert [n.kind for n in rec.channel] == ["interest"]
    finally:
        scheduler.clear_context()
        await desk.close()


def test_alerts_config_has_a_grace() -> None:
    assert AlertsConfig().misfire_grace_seconds > 0
