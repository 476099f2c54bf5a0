"""Confirmation and approval flows through the core and the console adapter, on the paper exchange."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from chatbot.config import PolicyConfig
from chatbot.replies import Actor, Request, Severity
from tests.core.desk import DeskUnderTest, borrowed, intents, open_desk, short_id


async def test_console_confirm_by_requester_executes_once(desk: DeskUnderTest) -> None:
    out = await desk.console("# a scripted drill\n\n/borrow USDT 1000\n/confirm\n/confirm\n/status\n", "carol")
    assert "Confirm borrow 1000 USDT (cross)?" in out
    assert "[Confirm: /confirm " in out and "[Cancel: /cancel " in out
    assert out.count("Done [") == 1
    assert "Nothing to confirm" in out
    assert await borrowed(desk) == Decimal("1000")
    assert [i.state for i in intents(desk)] == ["DONE"]


async def test_confirm_by_someone_else_refused_and_audited(desk: DeskUnderTest) -> None:
    prompt = await desk.say("carol", "/borrow USDT 1000")
    pid = short_id(prompt)
    other = await desk.say("alice", f"/confirm {pid}")
    assert other.severity is Severity.ERROR and "Not your prompt" in other.title
    assert await borrowed(desk) == 0
    denied = [e for e in desk.core.audit.find("confirm") if e.outcome == "denied"]
    assert denied and denied[-1].member == "alice"
    ok = await desk.say("carol", f"/confirm {pid}")
    assert ok.title.startswith("Done")


async def test_button_press_by_other_member_refused(desk: DeskUnderTest) -> None:
    prompt = await desk.say("carol", "/borrow USDT 500")
    token = prompt.actions[0].token
    refused = await desk.core.press(token, Actor("console", "bob"))
    assert "Not your prompt" in refused.title
    assert await borrowed(desk) == 0


async def test_expired_prompt_refused(desk: DeskUnderTest) -> None:
    pid = short_id(await desk.say("carol", "/borrow USDT 1000"))
    desk.clock.advance(61)
    reply = await desk.say("carol", f"/confirm {pid}")
    assert "expired" in reply.title
    assert await borrowed(desk) == 0 and intents(desk) == []


async def test_two_concurrent_presses_execute_once(desk: DeskUnderTest) -> None:
    prompt = await desk.say("carol", "/borrow USDT 700")
    token = prompt.actions[0].token
    actor = Actor("console", "carol")
    replies = await asyncio.gather(desk.core.press(token, actor), desk.core.press(token, actor))
    assert sum(r.title.startswith("Done") for r in replies) == 1
    assert await borrowed(desk) == Decimal("700")
    assert len(intents(desk)) == 1


async def test_four_eyes_approval(db_url: str) -> None:
    desk = await open_desk(db_url, policy=PolicyConfig(approval_notional_usdt=Decimal("5000")))
    try:
        out = await desk.console("/borrow USDT 6000\n/confirm\n", "alice")
        assert "Needs admin approval" in out and "sent to the admins" in out
        assert "» to bob [approvals] Approve borrow 6000 USDT" in out
        pid = short_id(out)
        self_approve = await desk.say("alice", f"/approve {pid}")
        assert "Four eyes" in self_approve.title
        viewer = await desk.say("dave", f"/approve {pid}")
        assert "needs the admin role" in viewer.title
        assert await borrowed(desk) == 0
        approved = await desk.say("bob", f"/approve {pid}")
        assert approved.title.startswith("Done"), approved.title
        assert await borrowed(desk) == Decimal("6000")
    finally:
        await desk.close()


async def test_halt_blocks_long_but_not_repay(desk: DeskUnderTest) -> None:
    pid = short_id(await desk.say("carol", "/borrow USDT 1000"))
    assert (await desk.say("carol", f"/confirm {pid}")).title.startswith("Done")
    halted = await desk.say("alice", "/halt drill")
    assert halted.severity is Severity.CRITICAL
    blocked = await desk.say("carol", "/long BTCUSDT 0.01")
    assert "halted" in blocked.title
    repay = await desk.say("carol", "/repay USDT all")
    assert repay.actions, repay.title
    assert (await desk.say("carol", f"/confirm {short_id(repay)}")).title.startswith("Done")
    assert await borrowed(desk) == 0
    # /resume needs a second admin
    resume = await desk.say("alice", "/resume")
    rid = short_id(resume)
    assert "Four eyes" in (await desk.say("alice", f"/approve {rid}")).title
    assert desk.core.halted()
    assert (await desk.say("bob", f"/approve {rid}")).title.startswith("Trading resumed")
    assert not desk.core.halted()


async def test_restart_between_prompt_and_confirm(db_url: str) -> None:
    first = await open_desk(db_url)
    pid = short_id(await first.say("carol", "/borrow USDT 1000"))
    await first.close()
    second = await open_desk(db_url, clock=first.clock)
    try:
        reply = await second.say("carol", f"/confirm {pid}")
        assert reply.title.startswith("Done"), reply.title
        assert await borrowed(second) == Decimal("1000")
    finally:
        await second.close()


async def test_unknown_user_denied_and_audited(desk: DeskUnderTest) -> None:
    reply = await desk.core.handle(Request(actor=Actor("telegram", "999999"), text="/status"))
    assert "not a member" in reply.title
    rows = desk.core.audit.find("identify")
    assert rows and rows[-1].outcome == "denied" and rows[-1].actor == "telegram:999999"


async def test_bad_input_changes_nothing(desk: DeskUnderTest) -> None:
    for text in ("/borrow USDT -5", "/borrow USDT 1e3", "/borrow DOGE 5", "/long BTCUSDT 0.000001",
                 "/repay USDT 10", "/borrow USDT 99999999"):
        reply = await desk.say("carol", text)
        assert reply.severity is Severity.ERROR, text
        assert "Traceback" not in reply.text()
    assert intents(desk) == [] and await borrowed(desk) == 0
    assert desk.core.pending.open_actions() == []


async def test_edited_and_stale_commands_refused(desk: DeskUnderTest) -> None:
    edited = await desk.say("carol", "/long BTCUSDT 0.01", edited=True)
    assert "Edited messages" in edited.title
    stale = await desk.say("carol", "/long BTCUSDT 0.01", sent_at=desk.clock.now - timedelta(minutes=2))
    assert "old command" in stale.title
    assert desk.core.pending.open_actions() == []


async def test_redelivered_event_runs_once(desk: DeskUnderTest) -> None:
    first = await desk.say("carol", "/borrow USDT 100", event_id="tg:42")
    again = await desk.say("carol", "/borrow USDT 100", event_id="tg:42")
    assert first.actions and again.title == "Already handled."
    assert len(desk.core.pending.open_actions()) == 1
