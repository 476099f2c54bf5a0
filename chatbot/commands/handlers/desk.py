"""Desk administration: the kill switch, membership, policy, alert subscriptions, acknowledgements.

What reduces risk takes effect at once (`/halt`, lowering a role, `/revoke`, which also ends the
member's open requests); what raises it waits for a second admin (`/resume`, a new member, a
higher role or new platform ids, `/setpolicy`) through `chatbot.flows.desk_actions`.
"""

from __future__ import annotations

from chatbot.commands import views
from chatbot.commands.registry import REGISTRY, bind
from chatbot.flows import pending as states
from chatbot.flows.approvals import request_approval
from chatbot.flows.desk_actions import policy_value_error, raises_access
from chatbot.flows.gate import answer
from chatbot.money import is_whole_number
from chatbot.replies import Notice, Reply, Severity, error
from chatbot.services import Call, Services
from chatbot.store.members import member_name


@bind("halt")
async def halt(svc: Services, call: Call) -> Reply:
    reason = call.args.get("reason") or "no reason given"
    svc.set_halt(True, reason=reason, by=call.member.name)
    reply = Reply(title=f"HALTED by {call.member.name}: {reason}", severity=Severity.CRITICAL,
                  lines=("Borrow, long and short are blocked on every platform. Repay and close still work.",
                         "Another admin must approve /resume."))
    svc.notifier.post(Notice("system", reply))
    return reply


@bind("resume")
async def resume(svc: Services, call: Call) -> Reply:
    if not svc.halted():
        return Reply(title="The desk is not halted.")
    waiting = [p for p in svc.pending.awaiting_approval() if p.command == "resume"]
    others = [p for p in waiting if p.requester_id != call.member.id]
    if others:  # a second admin typing /resume approves the first admin's request
        return await answer(svc, Call(REGISTRY["approve"], call.member, call.request, {"id": others[0].short_id}))
    if waiting:
        return Reply(title=f"[{waiting[0].short_id}] resume is already requested: another admin must approve it.",
                     ref=waiting[0].short_id)
    p = await request_approval(svc, call.member, "resume", {}, "lifting the kill switch needs a second admin",
                               platform=call.request.actor.platform, chat=call.request.chat_id)
    return Reply(title=f"[{p.short_id}] resume requested: another admin must approve.", ref=p.short_id)


@bind("grant")
async def grant(svc: Services, call: Call) -> Reply:
    name, role, ident = member_name(call.args["name"]), call.args["role"], call.args.get("id")
    tg = dc = None
    if ident:
        platform, _, number = ident.partition(":")
        if platform not in ("telegram", "discord") or not is_whole_number(number) or int(number) >= 2**63:
            return error("ID must look like telegram:12345 or discord:12345.", "e.g. /grant bob trader telegram:1234")
        tg, dc = (int(number), None) if platform == "telegram" else (None, int(number))
    if any(member_name(m.name) == name for m in svc.desk.members):
        return error(f"{name} is defined in the desk TOML; change them there.")
    current = svc.members.get(name)
    if current is None and tg is None and dc is None:
        return error(f"{name} is new: give their platform id.", "e.g. /grant bob trader telegram:1234")
    for platform_id, column in ((tg, "telegram_id"), (dc, "discord_id")):
        holder = next((m for m in svc.members.all() if platform_id is not None and getattr(m, column) == platform_id),
                      None)
        if holder is not None and (current is None or holder.id != current.id):
            return error(f"That platform id already belongs to {holder.name}.")
    if current is not None and current.id == call.member.id:
        return error("You cannot change your own membership; ask another admin.")
    if not raises_access(current, role, tg, dc):
        granted = svc.members.grant(name, role, tg, dc)
        return Reply(title=f"{granted.name} is now {views.a_role(granted.role)}.", severity=Severity.SUCCESS)
    params = {"name": name, "role": role, "telegram_id": tg, "discord_id": dc}
    p = await request_approval(svc, call.member, "grant", params, "raising access needs a second admin",
                               platform=call.request.actor.platform, chat=call.request.chat_id)
    return Reply(title=f"[{p.short_id}] grant {name} {role}: another admin must approve.", ref=p.short_id)


@bind("revoke")
async def revoke(svc: Services, call: Call) -> Reply:
    target = svc.members.get(call.args["name"])
    if target is None:
        return error(f"No member named {call.args['name']}.", "See /members")
    if target.source == "toml":
        return error(f"{target.name} is defined in the desk TOML; remove them there.")
    if target.id == call.member.id:
        return error("You cannot revoke yourself; ask another admin.")
    svc.members.revoke(target.id)
    ended = []
    for p in svc.pending.of_requester(target.id):
        if svc.pending.transition(p.id, p.state, states.CANCELLED, now=svc.clock(),
                                  note=f"{target.name} was revoked by {call.member.name}"):
            ended.append(p.short_id)
    lines = (f"Their open requests ended: {', '.join(ended)}.",) if ended else ()
    return Reply(title=f"{target.name} is no longer on the desk.", lines=lines, severity=Severity.SUCCESS)


@bind("setpolicy")
async def set_policy(svc: Services, call: Call) -> Reply:
    key, value = call.args["key"].lower(), call.args["value"]
    why = policy_value_error(key, value, svc)
    if why:
        return error(why, "See /policy")
    p = await request_approval(svc, call.member, "setpolicy", {"key": key, "value": value},
                               "changing the desk policy needs a second admin",
                               platform=call.request.actor.platform, chat=call.request.chat_id)
    return Reply(title=f"[{p.short_id}] set policy {key} = {value}: another admin must approve.", ref=p.short_id)


@bind("ack")
async def ack(svc: Services, call: Call) -> Reply:
    incident = svc.monitor.acknowledge(call.args.get("nonce") or call.args.get("id") or "", call.member.name)
    if incident is None:
        return error("No open incident to acknowledge.")
    return Reply(title=f"Incident #{incident.id} ({incident.account}) acknowledged by {incident.acknowledged_by}.",
                 severity=Severity.SUCCESS, ref=f"incident:{incident.id}")


@bind("subscribe")
async def subscribe(svc: Services, call: Call) -> Reply:
    return _subscription(svc, call, call.args["kind"], call.args.get("mode", "on"))


@bind("unsubscribe")
async def unsubscribe(svc: Services, call: Call) -> Reply:
    return _subscription(svc, call, call.args["kind"], "off")


def _subscription(svc: Services, call: Call, kind: str, mode: str) -> Reply:
    channel = call.request.chat_id or call.request.actor.platform
    svc.subscriptions.set(call.request.actor.platform, channel, kind, mode)
    return Reply(title=f"This channel's {kind} alerts: {mode}.", severity=Severity.SUCCESS)
