"""Asking for a second admin: the approval request every other admin gets, with what exactly would run.

Used by the gate (a confirmed leverage change that policy sends to approval) and by desk changes
that need a second admin from the start (`/resume`, raising access, `/setpolicy`). The request
carries the exact parameters, the exchange calls, the preview the requester saw and its
fingerprint, and Approve/Reject buttons; it goes to every admin but the requester by DM and to the
channels subscribed to approvals.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chatbot.commands import views
from chatbot.commands.registry import button_token
from chatbot.flows import pending as states
from chatbot.flows.pending import Pending
from chatbot.flows.proposals import badge
from chatbot.replies import Action, ActionStyle, Notice, Reply, Severity
from chatbot.services import Services
from chatbot.store.members import DeskMember


async def request_approval(svc: Services, requester: DeskMember, command: str, params: dict[str, Any], why: str,
                           *, platform: str, chat: str | None) -> Pending:
    """Store a desk change waiting for another admin, and send it to them."""
    p = svc.pending.create(requester=requester.name, requester_id=requester.id, command=command, params=params,
                           preview={}, needs_approval=True, reasons=[why], now=svc.clock(),
                           ttl=timedelta(seconds=svc.policy().approval_ttl_seconds),
                           state=states.AWAITING_APPROVAL, origin_platform=platform, origin_chat=chat)
    ask_admins(svc, p)
    return p


def ask_admins(svc: Services, p: Pending) -> None:
    """Send the approval request to every other admin (DM) and the approvals channels (in the background:
    the requester's answer does not wait for the admins' messages)."""
    admins = tuple(m.name for m in svc.members.admins() if m.id != p.requester_id)
    preview = p.preview
    fields: list[tuple[str, str]] = [("Requested by", p.requester), ("Exact request", views.exact(p))]
    if p.steps:
        fields.append(("Exchange calls", "; ".join(p.steps)))
    if "ml_after" in preview:
        fields += views.preview_fields(preview)
    fields.append(("Fingerprint", p.fingerprint))
    reply = Reply(
        title=f"{badge(svc)}Approve {views.describe(p)}? [{p.short_id}]", fields=tuple(fields),
        lines=(f"Why: {p.approval_reasons}.",) if p.approval_reasons else (),
        severity=Severity.WARNING, ref=p.short_id,
        actions=(Action("Approve", button_token("approve", p.nonce), f"/approve {p.short_id}", ActionStyle.PRIMARY),
                 Action("Reject", button_token("reject", p.nonce), f"/reject {p.short_id}", ActionStyle.DANGER)),
    )
    svc.notifier.post(Notice("approvals", reply, to_members=admins, key=f"approval:{p.short_id}"))
