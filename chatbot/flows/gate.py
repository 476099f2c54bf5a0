"""The gate: answering a prompt — confirm, cancel, approve, reject — typed or pressed.

The chain has already checked who is asking (identity, role, freshness, dedup). Here the answer is
bound to the pending action: only its requester (by member id, never by name) confirms or
cancels, only an admin who is not the requester approves or rejects (four eyes), nothing expired
or already answered moves, and every move is one conditional UPDATE, so two presses act once.
A confirmed request that needs approval goes to every other admin with its exact parameters,
exchange calls and fingerprint; an approved one runs right away (`chatbot.flows.execute`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from chatbot.commands import views
from chatbot.commands.registry import REGISTRY
from chatbot.flows import pending as states
from chatbot.flows.approvals import ask_admins
from chatbot.flows.desk_actions import DESK_ACTIONS, run_desk_action
from chatbot.flows.execute import authority_lost, execute
from chatbot.flows.pending import Pending
from chatbot.replies import Notice, Reply, Severity, error
from chatbot.services import Call, Services

REQUESTER_VERBS = ("confirm", "cancel")


async def answer(svc: Services, call: Call) -> Reply:
    """`/confirm`, `/cancel`, `/approve`, `/reject` and their buttons."""
    verb, member = call.spec.name, call.member
    p = _find(svc, call)
    if p is None:
        return _nothing(svc, call)
    if verb in REQUESTER_VERBS and p.requester_id != member.id:
        svc.audit.append(str(call.request.actor), verb, "denied", member=member.name,
                         detail={"pending": p.short_id, "why": "not the requester"})
        return error("Not your prompt: only the member who asked can answer it.")
    if verb not in REQUESTER_VERBS and p.requester_id == member.id:
        svc.audit.append(str(call.request.actor), verb, "denied", member=member.name,
                         detail={"pending": p.short_id, "why": "four eyes"})
        return error("Four eyes: another admin must approve your own request.")
    now = svc.clock()
    expected = states.AWAITING_CONFIRMATION if verb == "confirm" else states.AWAITING_APPROVAL
    if verb == "cancel" and p.state in states.OPEN_STATES:
        expected = p.state
    if p.state != expected:
        return error(f"[{p.short_id}] is already {p.state.replace('_', ' ')}.", "See /pending")
    if now >= p.expires_at:
        svc.pending.transition(p.id, expected, states.EXPIRED, now=now)
        return error(f"[{p.short_id}] expired; nothing was done.", "Send the command again.")
    if verb == "cancel":
        if not svc.pending.transition(p.id, expected, states.CANCELLED, now=now):
            return error(f"[{p.short_id}] was already answered.")
        return Reply(title=f"Cancelled [{p.short_id}] {views.describe(p)}. Nothing was done.", ref=p.short_id)
    if verb == "reject":
        return await _reject(svc, call, p)
    if verb == "confirm":
        lost = authority_lost(member, REGISTRY[p.command])
        if lost:
            svc.pending.transition(p.id, expected, states.CANCELLED, now=now, note=lost)
            return error(f"[{p.short_id}] not executed: {lost}.")
        if p.needs_approval:
            expires = now + timedelta(seconds=svc.policy().approval_ttl_seconds)
            if not svc.pending.transition(p.id, expected, states.AWAITING_APPROVAL, now=now, expires_at=expires):
                return error(f"[{p.short_id}] was already answered.")
            ask_admins(svc, p)
            return Reply(title=f"[{p.short_id}] sent to the admins for approval.", ref=p.short_id,
                         lines=(f"Why: {p.approval_reasons}.", f"Fingerprint {p.fingerprint}.",
                                "You will be told the outcome."))
    approver = member.name if verb == "approve" else None
    done = svc.executing(p.id)  # before it shows as executing: a recovery pass on another worker leaves it be
    if not svc.pending.transition(p.id, expected, states.EXECUTING, now=now, approver=approver,
                                  approver_id=member.id if approver else None, owner=svc.processes.instance_id):
        done()
        return error(f"[{p.short_id}] was already answered.")
    running = replace(p, state=states.EXECUTING, approver=approver)
    try:
        if p.command in DESK_ACTIONS:
            reply = await run_desk_action(svc, running)
        else:
            reply = await execute(svc, running, member, str(call.request.actor))
        if verb == "approve":
            return await _tell_requester(svc, running, reply, f"Approved by {member.name}")
        return reply
    finally:
        done()


def _find(svc: Services, call: Call) -> Pending | None:
    a, verb = call.args, call.spec.name
    if "nonce" in a:
        return svc.pending.by_nonce(a["nonce"])
    if a.get("id"):
        return svc.pending.by_short_id(a["id"])
    if verb in REQUESTER_VERBS:
        return svc.pending.newest_for(call.member.id, states.AWAITING_CONFIRMATION)
    waiting = [p for p in svc.pending.awaiting_approval() if p.requester_id != call.member.id]
    return waiting[0] if waiting else None


def _nothing(svc: Services, call: Call) -> Reply:
    a, verb = call.args, call.spec.name
    if "nonce" in a:
        return error("This button is no longer valid.", "See /pending")
    if a.get("id"):
        return error(f"Nothing with id {a['id']}.", "See /pending")
    if verb in REQUESTER_VERBS:
        return error("Nothing to confirm." if verb == "confirm" else "Nothing to cancel.", "See /pending")
    own = [p for p in svc.pending.awaiting_approval() if p.requester_id == call.member.id]
    if own:
        return error(f"Four eyes: [{own[0].short_id}] is your own request; another admin must approve it.",
                     "See /pending")
    return error("Nothing is waiting for approval.", "See /pending")


async def _reject(svc: Services, call: Call, p: Pending) -> Reply:
    reason = call.args.get("reason")
    if not svc.pending.transition(p.id, states.AWAITING_APPROVAL, states.REJECTED, now=svc.clock(),
                                  approver=call.member.name, approver_id=call.member.id, note=reason or ""):
        return error(f"[{p.short_id}] was already answered.")
    reply = Reply(title=f"Rejected [{p.short_id}] {views.describe(p)} by {call.member.name}.",
                  lines=(f"Reason: {reason}",) if reason else (), severity=Severity.WARNING, ref=p.short_id)
    svc.notifier.post(Notice("approvals", reply, to_members=(p.requester,), to_channels=False))
    return reply


async def _tell_requester(svc: Services, p: Pending, reply: Reply, prefix: str) -> Reply:
    """The approver gets the outcome; the requester is sent it too (and counts as told once it arrived)."""
    told = Reply(title=f"{prefix}: {reply.title}", lines=reply.lines, fields=reply.fields,
                 severity=reply.severity, ref=p.short_id, actions=reply.actions)
    current = svc.pending.get(p.id)
    if current is not None and current.state in states.FINISHED_BY_EXECUTION:
        def mark(delivered: int) -> None:
            if delivered:
                svc.pending.mark_told(p.id, svc.clock())

        svc.notifier.post(Notice("approvals", told, to_members=(p.requester,), to_channels=False), mark)
    return replace(reply, told=None, actions=())
