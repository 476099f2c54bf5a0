"""Proposing a leverage change: preview it, apply the policy, store it as a pending action, prompt.

A borrow, repay, long, short or close never executes on the first message. This module computes
its preview (`plan_for`, also used again with fresh prices at execution), stores it with the exact
exchange calls it will make and their fingerprint, and answers with a Confirm/Cancel prompt. The
same prompt is what a requester gets again when the market moved before execution.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from chatbot.commands import views
from chatbot.commands.registry import CommandSpec, button_token
from chatbot.exchange import ExchangeError, ExchangeUnavailable
from chatbot.flows import policy as desk_policy
from chatbot.flows.pending import Pending, fingerprint, params_hash
from chatbot.flows.policy import raises_risk
from chatbot.money import fmt_amount
from chatbot.plans import Plan, PlanError, plan_borrow, plan_close, plan_open, plan_repay, steps_of
from chatbot.replies import Action, ActionStyle, Reply, Severity, error
from chatbot.services import Call, Services
from chatbot.store.members import DeskMember
from chatbot.trader.proposals import TRADER_COMMANDS, account_of_trader, is_trader_plan, plan_trader

DUPLICATE_WINDOW = timedelta(seconds=10)
RISK_BY_PLAN = ("transfer", "order", "oco")  # whether these raise risk depends on the plan (direction)


def account_of(command: str, a: dict[str, Any]) -> str | None:
    """The isolated symbol a command acts on, or None for the cross account."""
    if command in ("borrow", "repay"):
        return a.get("symbol")
    if command in TRADER_COMMANDS:
        return account_of_trader(command, a)
    return a.get("symbol") if a.get("isolated") is True else None


async def plan_for(svc: Services, command: str, a: dict[str, Any]) -> Plan:
    """The preview of a leverage change at the exchange's current prices."""
    if is_trader_plan(command, a):
        return await plan_trader(svc, command, a)
    account = account_of(command, a)
    if account is not None and account not in await svc.exchange.isolated_symbols():
        raise PlanError(f"There is no isolated {account} margin account yet.")
    snap = await svc.exchange.account(account)
    rates = await svc.exchange.daily_interest_rates(account)
    if command == "borrow":
        amount = Decimal(a["amount"])
        plan = plan_borrow(snap, a["asset"], amount, rates)
        limit = await svc.exchange.max_borrowable(a["asset"], account)
        if amount > limit:
            raise PlanError(f"Max borrowable now is {fmt_amount(limit)} {a['asset']}.")
        return plan
    if command == "repay":
        return plan_repay(snap, a["asset"], a["amount"] if a["amount"] == "all" else Decimal(a["amount"]), rates)
    info = svc.market.symbols[a["symbol"]]
    fee = await svc.exchange.trade_fee(info.symbol)
    if command in ("long", "short"):
        return plan_open(command, snap, info, Decimal(a["qty"]), fee, rates)
    return plan_close(snap, info, fee, rates)


def preview_of(command: str, params: dict[str, Any], plan: Plan) -> dict[str, Any]:
    steps, shown = steps_of(plan), plan.preview()
    return {**shown, "steps": steps, "fingerprint": fingerprint(command, params, steps, shown)}


async def propose(svc: Services, call: Call) -> Reply:
    """Preview `call`'s leverage change and answer with its prompt (or a refusal)."""
    spec, member = call.spec, call.member
    if spec.increases_risk and spec.name not in RISK_BY_PLAN and svc.halted():
        return error("The desk is halted: leverage-increasing actions are blocked.",
                     "Repay and close still work. An admin can /resume.")
    busy = svc.executor.unsettled()
    if busy:
        return error(f"{busy} exchange request(s) from before are still being reconciled; trading waits until "
                     "their outcome is known.", "/status and /pending still work; try again in a minute.")
    params = {k: v if isinstance(v, bool) else str(v) for k, v in call.args.items()}
    try:
        plan = await plan_for(svc, spec.name, params)
    except PlanError as exc:
        return error(str(exc), f"Usage: {spec.usage}")
    except ExchangeError as exc:
        return error(f"The exchange refused: {exc.msg}.")
    except ExchangeUnavailable:
        return error("The exchange did not answer; nothing was done.", "Try again in a moment.")
    if raises_risk(spec, plan) and svc.halted():
        return error("The desk is halted: leverage-increasing actions are blocked.",
                     "Repay, close and moving collateral in still work. An admin can /resume.")
    return prompt_for(svc, spec, member, params, plan, platform=call.request.actor.platform,
                      chat=call.request.chat_id)


def badge(svc: Services) -> str:
    """How a prompt says which money it moves: real money once, on a live desk."""
    name = svc.exchange.name
    return "" if name == "paper" else f"LIVE {name.upper()} · "


def prompt_for(svc: Services, spec: CommandSpec, member: DeskMember, params: dict[str, Any], plan: Plan, *,
               platform: str, chat: str | None, note: str | None = None) -> Reply:
    """Store the pending action for `plan` and return its Confirm/Cancel prompt."""
    policy = svc.policy()
    verdict = desk_policy.assess(spec, plan, policy, svc.leverage_limit(member), member.name)
    if verdict.refusal:
        return error(f"Refused: {verdict.refusal}.", f"Try a smaller amount. Usage: {spec.usage}")
    now = svc.clock()
    duplicate = svc.pending.find_duplicate(member.id, params_hash(spec.name, params), now - DUPLICATE_WINDOW)
    if duplicate is not None and note is None:
        return prompt_reply(duplicate, plan, list(verdict.reasons), policy.confirm_ttl_seconds, repeated=True,
                            badge=badge(svc))
    p = svc.pending.create(
        requester=member.name, requester_id=member.id, command=spec.name, params=params,
        preview=preview_of(spec.name, params, plan), needs_approval=bool(verdict.reasons),
        reasons=list(verdict.reasons), now=now, ttl=timedelta(seconds=policy.confirm_ttl_seconds),
        origin_platform=platform, origin_chat=chat,
    )
    return prompt_reply(p, plan, list(verdict.reasons), policy.confirm_ttl_seconds, note=note, badge=badge(svc))


def prompt_reply(p: Pending, plan: Plan, reasons: list[str], ttl_seconds: int, *, repeated: bool = False,
                 note: str | None = None, badge: str = "") -> Reply:
    lines = [f"Needs admin approval: {'; '.join(reasons)}."] if reasons else []
    lines.append(f"Confirm within {ttl_seconds} s. Fingerprint {p.fingerprint}.")
    if repeated:
        lines.insert(0, "Same request as a moment ago: this is its prompt.")
    if note:
        lines.insert(0, note)
    return Reply(
        title=f"{badge}Confirm {views.describe(p)}? [{p.short_id}]",
        fields=(*views.plan_fields(plan), ("Exchange calls", "; ".join(p.steps))), lines=tuple(lines),
        severity=Severity.WARNING, ref=p.short_id,
        actions=(Action("Confirm", button_token("confirm", p.nonce), f"/confirm {p.short_id}", ActionStyle.PRIMARY),
                 Action("Cancel", button_token("cancel", p.nonce), f"/cancel {p.short_id}", ActionStyle.DANGER)),
    )
