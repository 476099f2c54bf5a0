"""Executing a confirmed (and, where needed, approved) leverage change — only if it still holds.

Right before anything is sent, authority is checked again against the requester's identity (still
on the desk, still allowed this command), then the kill switch, then a fresh preview: the exchange
calls must be the ones that were shown and approved, and notional and margin level must be within
the policy's tolerance. Anything else runs nothing: a preview that moved goes back to the requester
as a new prompt. The calls go out through the `Executor` (intent recorded first); the pending action
ends `done` or `failed`, or stays `executing` while an unknown outcome is reconciled — the
requester is told in every case, now or by recovery (`chatbot.flows.recovery`).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from chatbot.commands import views
from chatbot.commands.registry import REGISTRY, CommandSpec
from chatbot.display import level as fmt_level
from chatbot.exchange import ExchangeError, ExchangeUnavailable
from chatbot.execution import Busy, NotSent, Unrecorded
from chatbot.flows import pending as states
from chatbot.flows.pending import Pending
from chatbot.flows.policy import assess, moved, raises_risk
from chatbot.flows.proposals import RISK_BY_PLAN, account_of, plan_for, prompt_for
from chatbot.plans import Plan, PlanError
from chatbot.replies import Notice, Reply, Severity, error
from chatbot.services import Services
from chatbot.store.members import DeskMember
from chatbot.trader import intents, outcomes

log = logging.getLogger(__name__)


def authority_lost(requester: DeskMember | None, spec: CommandSpec) -> str | None:
    """Why the requester may no longer have this run, or None."""
    if requester is None or not requester.active:
        return "its requester is no longer on the desk"
    if not spec.allows(requester.role):
        return f"{requester.name} no longer has the {spec.role} role /{spec.name} needs"
    return None


def authority_refusal(svc: Services, p: Pending, requester: DeskMember | None) -> Reply | None:
    """The answer when the requester lost the authority for `p` since asking (and `p` failed), or None.

    One check for everything that runs an answered request — leverage changes here, desk changes in
    `chatbot.flows.desk_actions` — whether the gate or recovery runs it: a role is only as good as
    it is at the moment of execution, not when the request was made."""
    lost = authority_lost(requester, REGISTRY[p.command])
    if lost is None:
        return None
    fail(svc, p, lost)
    return error(f"[{p.short_id}] not executed: {lost}. Nothing was done.")


def fail(svc: Services, p: Pending, why: str) -> None:
    svc.pending.transition(p.id, states.EXECUTING, states.FAILED, now=svc.clock(), note=why)


async def execute(svc: Services, p: Pending, by: DeskMember, actor: str) -> Reply:
    """Run a pending leverage change this process just moved to `executing` (`by` answered last)."""
    spec = REGISTRY[p.command]
    requester = svc.members.by_id(p.requester_id)
    refused = authority_refusal(svc, p, requester)
    if refused is not None:
        return refused
    assert requester is not None
    if spec.increases_risk and spec.name not in RISK_BY_PLAN and svc.halted():
        fail(svc, p, "the desk was halted")
        return error(f"[{p.short_id}] not executed: the desk was halted meanwhile. Nothing was done.")
    try:
        fresh = await plan_for(svc, p.command, p.params)
    except PlanError as exc:
        fail(svc, p, str(exc))
        return error(f"[{p.short_id}] not executed: {exc} Nothing was done.")
    except (ExchangeError, ExchangeUnavailable) as exc:
        fail(svc, p, f"no fresh preview: {exc}")
        return error(f"[{p.short_id}] not executed: the exchange gave no fresh prices. Nothing was done.",
                     "Send the command again.")
    if raises_risk(spec, fresh) and svc.halted():
        fail(svc, p, "the desk was halted")
        return error(f"[{p.short_id}] not executed: the desk was halted meanwhile. Nothing was done.")
    policy = svc.policy()
    verdict = assess(spec, fresh, policy, svc.leverage_limit(requester), requester.name)
    changed = verdict.refusal or moved(p.preview, fresh, policy.preview_tolerance_pct)
    if not changed and verdict.reasons and not p.needs_approval:
        changed = f"it now needs an admin's approval ({'; '.join(verdict.reasons)})"
    if changed:
        fail(svc, p, f"preview no longer holds: {changed}")
        return await _ask_again(svc, p, spec, requester, fresh, changed, by)
    return await _send(svc, p, fresh, actor)


async def _ask_again(svc: Services, p: Pending, spec: CommandSpec, requester: DeskMember, fresh: Plan, why: str,
                     by: DeskMember) -> Reply:
    """Nothing ran; the requester gets the fresh preview to confirm again (if it is still allowed)."""
    note = f"[{p.short_id}] was not executed: {why}. This is the new preview."
    prompt = prompt_for(svc, spec, requester, p.params, fresh, platform=p.origin_platform, chat=p.origin_chat,
                        note=note)
    if by.id == requester.id:
        return prompt
    svc.notifier.post(Notice("approvals", prompt, to_members=(requester.name,), to_channels=False))
    return error(f"[{p.short_id}] not executed: {why}.",
                 f"{requester.name} was sent the new preview to confirm again." if prompt.actions else prompt.title)


async def _send(svc: Services, p: Pending, plan: Plan, actor: str) -> Reply:
    iso = plan.account if plan.order or plan.cancel else account_of(p.command, p.params)
    ex, results = svc.executor, []
    await outcomes.mark_equity(svc, f"before [{p.short_id}] {p.command}")
    try:
        if plan.transfer:
            results.append(await intents.transfer(ex, plan.transfer, pending_id=p.id, actor=actor))
        if plan.borrow:
            await ex.borrow(plan.borrow[0], plan.borrow[1], iso, pending_id=p.id, actor=actor)
        if plan.repay and plan.order is None:
            await ex.repay(plan.repay[0], plan.repay[1], iso, pending_id=p.id, actor=actor)
        if plan.order and plan.order.type == "OCO":
            results.append(await intents.oco(ex, plan.order, iso is not None, pending_id=p.id, actor=actor))
        elif plan.order:
            results.append(await ex.order(plan.order, iso is not None, pending_id=p.id, actor=actor))
        if plan.cancel:
            results.append(await intents.cancel(ex, plan.cancel, pending_id=p.id, actor=actor))
    except Busy as exc:
        fail(svc, p, str(exc))
        return error(f"[{p.short_id}] not executed: {exc}", "Try again in a moment.")
    except ExchangeError as exc:
        fail(svc, p, f"refused by the exchange: {exc.msg}")
        return error(f"[{p.short_id}] refused by the exchange: {exc.msg} ({exc.code}). Nothing changed.")
    except NotSent:
        fail(svc, p, "did not reach the exchange")
        return error(f"[{p.short_id}] did not reach the exchange; nothing was done.", "Send the command again.")
    except ExchangeUnavailable:
        svc.pending.transition(p.id, states.EXECUTING, states.EXECUTING, now=svc.clock(),
                               note="outcome unknown: reconciling with the exchange")
        return Reply(title=f"[{p.short_id}] outcome unknown: the exchange did not answer.",
                     lines=("It is being checked with the exchange now; you will be told the real outcome.",
                            "Do not send it again meanwhile."), severity=Severity.WARNING, ref=p.short_id)
    except Unrecorded:
        return Reply(title=f"[{p.short_id}] sent to the exchange, but the desk's database is unavailable.",
                     lines=("It could not be recorded yet; it will be reconciled when the database is back.",
                            "Check /status before sending anything again."), severity=Severity.WARNING,
                     ref=p.short_id)
    warning = await _repay_after(svc, p, plan, iso, actor)
    svc.pending.transition(p.id, states.EXECUTING, states.DONE, now=svc.clock(), note=warning or "")
    reply = await done_reply(svc, p, await outcomes.after_done(svc, p, plan, results))
    if warning:
        return replace(reply, lines=(*reply.lines, warning), severity=Severity.WARNING)
    return reply


async def _repay_after(svc: Services, p: Pending, plan: Plan, iso: str | None, actor: str) -> str | None:
    """A partial close of a long repays its share of the loan after selling: if that fails, the sale
    stands and the requester is told to repay by hand."""
    if not (plan.repay and plan.order is not None and plan.repay_after):
        return None
    asset, amount = plan.repay
    try:
        await svc.executor.repay(asset, amount, iso, pending_id=p.id, actor=actor)
    except (Busy, ExchangeError, NotSent, ExchangeUnavailable, Unrecorded) as exc:
        why = exc.msg if isinstance(exc, ExchangeError) else str(exc) or type(exc).__name__
        return f"Sold, but the repay of {amount} {asset} did not go through ({why}); /repay {asset} {amount}."
    return None


async def done_reply(svc: Services, p: Pending, extra: tuple[tuple[str, str], ...] = ()) -> Reply:
    try:
        snap = await svc.exchange.account(account_of(p.command, p.params))
        fields: tuple[tuple[str, str], ...] = (
            ("Margin level now", f"{fmt_level(snap.margin_level, snap.total_liability_value > 0)} — "
                                 f"{snap.band.value}"),)
    except (ExchangeError, ExchangeUnavailable):
        fields = ()
    return Reply(title=f"Done [{p.short_id}]: {views.describe(p)}.", severity=Severity.SUCCESS, ref=p.short_id,
                 fields=(*extra, *fields), told=p.id)
