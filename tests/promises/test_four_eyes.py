"""Promise: what runs is what the approver saw, and nothing that raises risk runs on one admin's word.

Approvers see the exact request, its exchange calls and a fingerprint; if the market moved beyond the
policy's tolerance before the approval, nothing runs and the requester gets the new preview. Raising
access, adding an admin, lifting the kill switch and changing policy all need a second admin.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from chatbot.config import PolicyConfig
from chatbot.flows import pending as states
from tests.core.desk import DeskUnderTest, short_id

POLICY = PolicyConfig(approval_notional_usdt=Decimal("5000"), preview_tolerance_pct=Decimal("2"))


@pytest.fixture
def desk_policy() -> PolicyConfig:
    return POLICY


async def btc(desk: DeskUnderTest) -> Decimal:
    return (await desk.exchange.account(None)).asset("BTC").free


async def test_an_approval_after_a_7_percent_move_runs_nothing_and_the_requester_is_asked_again(
        desk: DeskUnderTest) -> None:
    out = await desk.console("/long BTCUSDT 0.2\n/confirm\n", "carol")
    pid = short_id(out)
    request = out[out.index("» to alice [approvals] Approve"):]
    assert "Exact request: /long isolated=" not in request  # false flags are not shown
    assert "Exact request: /long qty=0.2 symbol=BTCUSDT" in request
    assert "Exchange calls: MARKET BUY 0.2 BTCUSDT MARGIN_BUY (cross)" in request
    fingerprint = desk.core.pending.by_short_id(pid).fingerprint
    assert f"Fingerprint: {fingerprint}" in request and f"Fingerprint {fingerprint}" in out
    await desk.exchange.set_price("BTCUSDT", Decimal("37450"))  # +7 %
    approved = await desk.console(f"/approve {pid}\n", "bob")
    assert "not executed" in approved and "notional moved 7" in approved
    assert "carol was sent the new preview" in approved
    assert "» to carol [approvals] Confirm long 0.2 BTCUSDT (cross)?" in approved  # the new prompt, to carol
    assert await btc(desk) == 0
    assert desk.core.pending.by_short_id(pid).state == states.FAILED
    new = [p for p in desk.core.pending.open_actions() if p.requester == "carol"]
    assert len(new) == 1 and Decimal(new[0].preview["notional"]) == Decimal("7490")
    assert new[0].fingerprint != fingerprint


async def test_an_approval_within_the_tolerance_runs_exactly_what_was_shown(desk: DeskUnderTest) -> None:
    pid = short_id(await desk.console("/long BTCUSDT 0.2\n/confirm\n", "carol"))
    await desk.exchange.set_price("BTCUSDT", Decimal("35350"))  # +1 %
    approved = await desk.console(f"/approve {pid}\n", "bob")
    assert "Approved by bob: Done" in approved
    assert await btc(desk) == Decimal("0.2")


async def test_one_admin_cannot_make_another_admin(desk: DeskUnderTest) -> None:
    out = await desk.console("/grant zoe admin telegram:9009\n/approve\n", "alice")
    assert "another admin must approve" in out and "Four eyes" in out
    assert desk.core.members.get("zoe") is None
    assert "not a member" in (await desk.say_as_telegram(9009, "/status")).title
    approved = await desk.console("/approve\n", "bob")
    assert "zoe is now an admin" in approved
    member = desk.core.members.get("zoe")
    assert member is not None and member.role == "admin"


async def test_raising_a_role_needs_a_second_admin_and_lowering_does_not(desk: DeskUnderTest) -> None:
    await desk.console("/grant erin viewer telegram:5555\n", "alice")
    await desk.console("/approve\n", "bob")  # a new member is new access
    assert desk.core.members.get("erin").role == "viewer"  # type: ignore[union-attr]
    await desk.console("/grant erin trader\n", "alice")
    assert desk.core.members.get("erin").role == "viewer"  # type: ignore[union-attr]
    await desk.console("/approve\n", "bob")
    assert desk.core.members.get("erin").role == "trader"  # type: ignore[union-attr]
    out = await desk.console("/grant erin viewer\n", "alice")
    assert "erin is now a viewer" in out and desk.core.members.get("erin").role == "viewer"  # type: ignore[union-attr]


async def test_a_second_admins_resume_approves_the_first(desk: DeskUnderTest) -> None:
    await desk.console("/halt drill\n/resume\n", "alice")
    assert desk.core.halted()
    again = await desk.console("/resume\n", "alice")
    assert "already requested" in again and desk.core.halted()
    resumed = await desk.console("/resume\n", "bob")
    assert "Trading resumed" in resumed and not desk.core.halted()
    assert [p.command for p in desk.core.pending.awaiting_approval()] == []


async def test_approve_without_an_id_tells_the_requester_about_four_eyes(desk: DeskUnderTest) -> None:
    pid = short_id(await desk.console("/borrow USDT 6000\n/confirm\n", "alice"))
    mine = await desk.say("alice", "/approve")
    assert "Four eyes" in mine.title and pid in mine.title


async def test_changing_policy_needs_a_second_admin(desk: DeskUnderTest) -> None:
    out = await desk.console("/setpolicy approval_notional_usdt 100000\n/approve\n", "alice")
    assert "another admin must approve" in out and "Four eyes" in out
    assert desk.core.services.policy().approval_notional_usdt == Decimal("5000")
    bad = await desk.say("alice", "/setpolicy approval_notional_usdt lots")
    assert bad.severity.value == "error" and "approval_notional_usdt" in bad.title
    approved = await desk.console("/approve\n", "bob")
    assert "Policy approval_notional_usdt is now 100000" in approved
    assert desk.core.services.policy().approval_notional_usdt == Decimal("100000")
    shown = await desk.say("dave", "/policy")
    assert shown.table is not None and ("approval_notional_usdt", "100000", "chat (approved)") in shown.table.rows
