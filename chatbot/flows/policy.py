"""The desk's policy applied to a preview: refuse it, let it through, or send it to a second admin.

Risk-reducing actions (repay, close) are never held up. Leverage-increasing ones are refused below
the desk's minimum margin level and need an admin's approval when their notional, projected margin
level or the requester's leverage crosses the policy's bars. At execution the fresh preview must
still match what was shown (`moved`): the same exchange calls, and notional and margin level within
`preview_tolerance_pct` — otherwise nothing runs and the requester is asked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chatbot.commands.registry import CommandSpec
from chatbot.config import PolicyConfig
from chatbot.margin import NO_DEBT_LEVEL
from chatbot.money import fmt
from chatbot.plans import Plan, steps_of


@dataclass(frozen=True)
class Verdict:
    reasons: tuple[str, ...]  # why an admin must approve (empty: the requester's confirmation is enough)
    refusal: str | None  # why it cannot be done at all


def raises_risk(spec: CommandSpec, plan: Plan) -> bool:
    """Whether this change can raise the account's risk: the plan says for a transfer (out of a margin
    account) or an order (one that borrows), else the command."""
    return spec.increases_risk if plan.raises_risk is None else plan.raises_risk


def assess(spec: CommandSpec, plan: Plan, policy: PolicyConfig, leverage_limit: Decimal, who: str) -> Verdict:
    if not raises_risk(spec, plan):
        return Verdict((), None)
    refusal = None
    if plan.ml_after < policy.min_margin_level:
        refusal = (f"projected margin level {fmt(plan.ml_after, 4)} is below the desk minimum "
                   f"{policy.min_margin_level}")
    reasons = []
    if plan.notional > policy.approval_notional_usdt:
        reasons.append(f"notional {fmt(plan.notional)} USDT is above {fmt(policy.approval_notional_usdt)}")
    if plan.ml_after < policy.approval_margin_level:
        reasons.append(f"projected margin level {fmt(plan.ml_after, 4)} is below {policy.approval_margin_level}")
    if plan.leverage_after is None:
        reasons.append(f"the account has no equity left; leverage is above {who}'s limit {leverage_limit}x")
    elif plan.leverage_after > leverage_limit:
        reasons.append(f"leverage {fmt(plan.leverage_after)}x is above {who}'s limit {leverage_limit}x")
    return Verdict(tuple(reasons), refusal)


def _relative_move(shown: Decimal, fresh: Decimal) -> Decimal:
    if shown == fresh:
        return Decimal(0)
    if shown == 0:
        return Decimal(100)
    return abs(fresh - shown) / abs(shown) * 100


def moved(shown: dict[str, Any], fresh: Plan, tolerance_pct: Decimal) -> str | None:
    """Why the fresh preview is no longer what was shown, or None when it still holds."""
    if shown.get("steps") is not None and list(shown["steps"]) != steps_of(fresh):
        return f"the exchange calls changed ({'; '.join(steps_of(fresh))} instead of {'; '.join(shown['steps'])})"
    notional = _relative_move(Decimal(shown["notional"]), fresh.notional)
    if notional > tolerance_pct:
        return (f"the notional moved {fmt(notional)}% ({fmt(Decimal(shown['notional']))} → {fmt(fresh.notional)} "
                f"USDT), more than the {tolerance_pct}% tolerance")
    before = Decimal(shown["ml_after"])
    if min(before, fresh.ml_after) < NO_DEBT_LEVEL:
        level = _relative_move(before, fresh.ml_after)
        if level > tolerance_pct:
            return (f"the projected margin level moved {fmt(level)}% ({fmt(before, 4)} → {fmt(fresh.ml_after, 4)}), "
                    f"more than the {tolerance_pct}% tolerance")
    return None
