"""Desk changes that need a second admin: lifting the kill switch, raising access, changing policy.

Like leverage, these never take effect on one admin's word. The admin's command is their own
confirmation, so the request waits straight for another admin's approval (`awaiting_approval`);
approving it runs `run_desk_action`, which first checks — as every execution does
(`chatbot.flows.execute.authority_refusal`) — that the requester still holds the role the change
needs: an admin demoted while their request waited gets nothing done. Each effect is idempotent
(set the halt flag, set a role, set a policy value), so a crash between the effect and the `done`
mark is finished by recovery re-running it (after the same authority check). Risk-reducing
changes (halting, lowering a role, revoking) need no second admin
and are not here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from chatbot.commands import views
from chatbot.config import ROLE_RANK, PolicyConfig
from chatbot.flows import pending as states
from chatbot.flows.execute import authority_refusal
from chatbot.flows.pending import Pending
from chatbot.replies import Notice, Reply, Severity, error
from chatbot.services import Services
from chatbot.store.members import DeskMember

POLICY_KEYS = tuple(PolicyConfig.model_fields)


def policy_value_error(key: str, value: str, svc: Services) -> str | None:
    """Why `key = value` is not a valid policy, or None."""
    if key not in POLICY_KEYS:
        return f"Unknown policy key {key}. Keys: {', '.join(POLICY_KEYS)}."
    try:
        PolicyConfig.model_validate({**svc.policy().model_dump(), key: value})
    except ValidationError as exc:
        return f"{key}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}."
    return None


def raises_access(current: DeskMember | None, role: str, telegram_id: int | None, discord_id: int | None) -> bool:
    """A new member, a higher role, or new platform ids (who the member is) all raise access."""
    if current is None:
        return True
    if ROLE_RANK[role] > ROLE_RANK[current.role]:
        return True
    return (telegram_id is not None and telegram_id != current.telegram_id) or \
        (discord_id is not None and discord_id != current.discord_id)


async def _resume(svc: Services, p: Pending) -> Reply:
    svc.set_halt(False, reason="", by=p.approver or "")
    reply = Reply(title="Trading resumed: the kill switch is off.", severity=Severity.SUCCESS,
                  lines=(f"Requested by {p.requester}, approved by {p.approver}.",))
    svc.notifier.post(Notice("system", reply))
    return reply


async def _grant(svc: Services, p: Pending) -> Reply:
    a = p.params
    current = svc.members.get(a["name"])
    for platform_id, column in ((a.get("telegram_id"), "telegram_id"), (a.get("discord_id"), "discord_id")):
        holder = next((m for m in svc.members.all() if getattr(m, column) == platform_id), None)
        if platform_id is not None and holder is not None and (current is None or holder.id != current.id):
            raise _Refused(f"that platform id now belongs to {holder.name}")
    granted = svc.members.grant(a["name"], a["role"], a.get("telegram_id"), a.get("discord_id"))
    return Reply(title=f"{granted.name} is now {views.a_role(granted.role)} (approved by {p.approver}).",
                 severity=Severity.SUCCESS)


async def _set_policy(svc: Services, p: Pending) -> Reply:
    key, value = p.params["key"], p.params["value"]
    why = policy_value_error(key, value, svc)
    if why:
        raise _Refused(why)
    svc.set_policy_override(key, value)
    reply = Reply(title=f"Policy {key} is now {value} (approved by {p.approver}).", severity=Severity.SUCCESS)
    svc.notifier.post(Notice("system", reply))
    return reply


class _Refused(Exception):
    """The change no longer applies (someone else took the id meanwhile …): nothing was done."""


DESK_ACTIONS: dict[str, Callable[[Services, Pending], Awaitable[Reply]]] = {
    "resume": _resume, "grant": _grant, "setpolicy": _set_policy,
}


async def run_desk_action(svc: Services, p: Pending) -> Reply:
    """Apply an approved desk change this process moved to `executing` (the gate's approval, or recovery
    finishing one a dead process left), then mark it done — unless its requester lost the authority."""
    refused = authority_refusal(svc, p, svc.members.by_id(p.requester_id))
    if refused is not None:
        return refused
    try:
        reply = await DESK_ACTIONS[p.command](svc, p)
    except _Refused as exc:
        svc.pending.transition(p.id, states.EXECUTING, states.FAILED, now=svc.clock(), note=str(exc))
        return error(f"[{p.short_id}] not done: {exc}.")
    svc.pending.transition(p.id, states.EXECUTING, states.DONE, now=svc.clock())
    return Reply(title=reply.title, lines=reply.lines, severity=reply.severity, ref=p.short_id, told=p.id)
