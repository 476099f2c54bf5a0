"""Promise: authority is checked at every step, bound to the member's identity (their id), not their name.

Through the console adapter, with `/as` switching members as a drill would.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from chatbot.config import PolicyConfig
from chatbot.flows import pending as states
from tests.core.desk import DeskUnderTest, borrowed, short_id

POLICY = PolicyConfig(approval_notional_usdt=Decimal("5000"))


@pytest.fixture
def desk_policy() -> PolicyConfig:
    return POLICY


async def add_erin(desk: DeskUnderTest, telegram_id: int = 5555) -> None:
    out = await desk.console(f"/grant erin trader telegram:{telegram_id}\n/as bob\n/approve\n", "alice")
    assert "erin is now a trader" in out, out


async def test_a_revoked_members_queued_request_never_executes(desk: DeskUnderTest) -> None:
    await add_erin(desk)
    out = await desk.console("/borrow USDT 6000\n/confirm\n", "erin")
    assert "sent to the admins for approval" in out
    pid = short_id(out)
    revoked = await desk.console("/revoke erin\n", "alice")
    assert "erin is no longer on the desk" in revoked and pid in revoked  # their open request ended
    approve = await desk.console(f"/approve {pid}\n", "bob")
    assert "already cancelled" in approve
    assert await borrowed(desk) == 0
    assert desk.core.pending.by_short_id(pid).note.startswith("erin was revoked")


async def test_authority_is_checked_again_when_an_approval_executes(desk: DeskUnderTest) -> None:
    await add_erin(desk)
    pid = short_id(await desk.console("/borrow USDT 6000\n/confirm\n", "erin"))
    demoted = await desk.console("/grant erin viewer\n", "alice")  # lowering a role takes effect at once
    assert "erin is now a viewer" in demoted
    approve = await desk.console(f"/approve {pid}\n", "bob")
    assert "not executed" in approve and "no longer has the trader role" in approve
    assert await borrowed(desk) == 0
    assert desk.core.pending.by_short_id(pid).state == states.FAILED


async def test_a_new_account_with_the_same_name_cannot_answer_the_old_prompt(desk: DeskUnderTest) -> None:
    await add_erin(desk)
    prompt = await desk.say_as_telegram(5555, "/borrow USDT 1000")
    confirm_button = prompt.actions[0].token
    await desk.console("/revoke erin\n", "alice")
    await add_erin(desk, telegram_id=7777)  # a different person, the same name
    new_erin = desk.core.members.get("erin")
    assert new_erin is not None and new_erin.telegram_id == 7777
    pressed = await desk.press_as_telegram(7777, confirm_button)
    typed = await desk.say_as_telegram(7777, f"/confirm {short_id(prompt)}")
    assert "not executed" not in pressed.title and pressed.severity.value == "error"
    assert typed.severity.value == "error"
    assert await borrowed(desk) == 0
    old = desk.core.pending.by_short_id(short_id(prompt))
    assert old.state == states.CANCELLED and old.requester_id != new_erin.id


async def test_prompts_are_bound_to_ids_even_without_a_revoke(desk: DeskUnderTest) -> None:
    """Two members, one prompt: the other member's press is refused (by id) and audited."""
    prompt = await desk.say("carol", "/borrow USDT 1000")
    refused = await desk.press_as_telegram(1002, prompt.actions[0].token)  # bob, an admin, on Telegram
    assert "Not your prompt" in refused.title
    assert await borrowed(desk) == 0
    assert any(e.member == "bob" and e.outcome == "denied" for e in desk.core.audit.find("confirm"))


async def erins_policy_change_then_demotion(desk: DeskUnderTest) -> str:
    """erin becomes an admin (alice asks, bob approves), asks to lift the approval threshold, and is
    then demoted to viewer by alice (lowering a role takes effect at once): her request still waits."""
    out = await desk.console("/grant erin admin telegram:5555\n", "alice")
    assert "erin is now an admin" in await desk.console(f"/approve {short_id(out)}\n", "bob")
    asked = await desk.console("/setpolicy approval_notional_usdt 99999999\n", "erin")
    assert "another admin must approve" in asked, asked
    assert "erin is now a viewer" in await desk.console("/grant erin viewer\n", "alice")
    return short_id(asked)


async def test_a_demoted_admins_desk_change_is_refused_on_approval(desk: DeskUnderTest) -> None:
    pid = await erins_policy_change_then_demotion(desk)
    approve = await desk.console(f"/approve {pid}\n", "bob")
    assert f"[{pid}] not executed: erin no longer has the admin role /setpolicy needs" in approve, approve
    assert "Traceback" not in approve
    assert desk.core.services.policy().approval_notional_usdt == POLICY.approval_notional_usdt
    p = desk.core.pending.by_short_id(pid)
    assert p.state == states.FAILED and "no longer has the admin role" in p.note
    (audited,) = [e for e in desk.core.audit.find("approve") if e.member == "bob" and e.outcome == "refused"]
    assert "not executed" in audited.detail_json


async def test_recovery_does_not_reapply_a_demoted_admins_desk_change(desk: DeskUnderTest) -> None:
    """bob's approval moved it to `executing`, then that process died before applying it (simulated:
    an owner that is on no process's books); recovery must check authority as the gate does."""
    pid = await erins_policy_change_then_demotion(desk)
    p = desk.core.pending.by_short_id(pid)
    assert desk.core.pending.transition(p.id, states.AWAITING_APPROVAL, states.EXECUTING, now=desk.clock(),
                                        approver="bob", approver_id=desk.core.members.get("bob").id,
                                        owner="a-process-that-died")
    settled = await desk.core.recovery.settle()
    assert settled.requests == {pid: states.FAILED}
    assert desk.core.services.policy().approval_notional_usdt == POLICY.approval_notional_usdt
    assert "erin no longer has the admin role /setpolicy needs" in desk.core.pending.by_short_id(pid).note
