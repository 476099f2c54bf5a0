"""Promise: a margin call always reaches a person, and a liquidation is never silent.

With no channel subscribed to margin alerts, the admins get them by direct message; an incident
counts only notifications that were delivered (one nobody heard is tried again); a cross-margin
liquidation is an incident of its own, with an audit row; `chatbot jobs run margin-monitor --once`
says what is open even when it has nothing new to send.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.cli import chatbot
from tests.core.desk import DeskUnderTest, short_id
from tests.recorders import Recorder


async def leveraged_long(desk: DeskUnderTest) -> None:
    prompt = await desk.say("carol", "/long BTCUSDT 1.4")
    assert (await desk.say("carol", f"/confirm {short_id(prompt)}")).title.startswith("Done")


async def test_with_no_margin_channel_the_admins_get_the_margin_call(desk: DeskUnderTest) -> None:
    await leveraged_long(desk)
    out = await desk.console("/price BTCUSDT 26500\n", "alice")
    assert "» to alice [margin] MARGIN CALL — cross" in out and "» to bob [margin] MARGIN CALL — cross" in out
    (incident,) = desk.core.monitor.incidents.all_open()
    assert incident.notifications == 1 and incident.last_notified_at is not None


async def test_an_incident_nobody_heard_is_not_counted_and_is_sent_again(desk: DeskUnderTest) -> None:
    await leveraged_long(desk)
    await desk.exchange.set_price("BTCUSDT", Decimal("26500"))  # no transport registered: nobody can hear it
    (incident,) = desk.core.monitor.incidents.all_open()
    assert incident.notifications == 0 and incident.last_notified_at is None
    inbox = Recorder(channels=False)
    desk.core.notifier.register(inbox)
    await desk.core.monitor.check_all()
    assert sorted(name for name, n in inbox.dms if n.data["event"] == "fire") == ["alice", "bob"]
    (incident,) = desk.core.monitor.incidents.all_open()
    assert incident.notifications == 1
    await desk.core.monitor.check_all()
    assert len(inbox.dms) == 2  # delivered once: not repeated before the repeat interval


async def test_a_cross_margin_liquidation_is_an_incident_with_an_audit_row(desk: DeskUnderTest) -> None:
    await leveraged_long(desk)
    out = await desk.console("/price BTCUSDT 22000\n", "alice")
    assert "» to alice [margin] LIQUIDATED — cross" in out and "» to bob [margin] LIQUIDATED — cross" in out
    rows = desk.core.audit.find("liquidation")
    assert rows and rows[0].outcome == "detected" and rows[0].actor == "system"
    (liquidation,) = desk.core.monitor.incidents.all_open(kind="liquidation")
    assert "sell" in liquidation.detail and liquidation.notifications == 1
    await desk.core.monitor.check_all()
    assert len(desk.core.audit.find("liquidation")) == len(rows)  # each record is reported once
    acked = await desk.say("carol", f"/ack {liquidation.id}")
    assert "acknowledged by carol" in acked.title
    assert desk.core.monitor.incidents.all_open(kind="liquidation") == []


def test_jobs_run_once_says_what_is_open_and_start_up_warns_about_no_channel(tmp_path: Path) -> None:
    drill = chatbot(tmp_path, "console", "--as", "carol",
                    stdin="/long BTCUSDT 1.4\n/confirm\n/as alice\n/price BTCUSDT 26500\n")
    assert drill.returncode == 0, drill.stderr
    assert "no alert channel is subscribed to margin alerts" in drill.stderr
    assert "» to alice [margin] MARGIN CALL" in drill.stdout
    again = chatbot(tmp_path, "jobs", "run", "margin-monitor", "--once")
    assert again.returncode == 0, again.stderr
    assert "nothing new to report" in again.stdout
    assert "Open incidents:" in again.stdout and "cross: MARGIN CALL" in again.stdout and "notified 1×" in again.stdout
