"""Recovery: finish what a crash (or a lost answer) left open, and tell every requester the outcome.

At start-up, before any trading, and then every few seconds in every process:
1. every intent nobody is sending any more (its process died, or ours gave up on it) is reconciled
   with the exchange — DONE, NOT_SENT, or still UNKNOWN (trading waits while any is unknown);
2. every request left `executing` by a dead process is finished from its intents: `done` when every
   exchange call it showed happened, `failed` when none or only some did (nothing is ever sent
   again; "partly executed" names what went through and what did not); a desk change
   (resume, grant, policy) is re-applied — its effects are idempotent;
3. every requester who has not heard the outcome of their executed request is sent it, and marked
   told only once the message was delivered.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from chatbot.commands import views
from chatbot.execution import DONE, OPEN
from chatbot.flows import pending as states
from chatbot.flows.desk_actions import DESK_ACTIONS, run_desk_action
from chatbot.flows.pending import Pending
from chatbot.replies import Notice, Reply, Severity
from chatbot.services import Services

log = logging.getLogger(__name__)
PARTLY = "partly executed"  # some of a request's exchange calls went through, the rest never will
TELL_GRACE = timedelta(seconds=30)  # a live process tells its requester itself, within this


@dataclass
class Settled:
    intents: dict[int, str] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)  # short id → final state

    def __bool__(self) -> bool:
        return bool(self.intents or self.requests)


class Recovery:
    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self._telling = threading.Lock()

    async def settle(self) -> Settled:
        svc, settled = self.svc, Settled()
        for intent_id in svc.executor.orphans():
            settled.intents[intent_id] = await svc.executor.reconcile(intent_id)
        executing = svc.pending.executing()
        dead = svc.processes.dead({p.owner for p in executing})
        for p in executing:
            if p.id in svc.running or (p.owner not in dead and p.owner != svc.processes.instance_id):
                continue
            final = await self._finish(p)
            if final:
                settled.requests[p.short_id] = final
        if settled:
            svc.audit.append("system", "recover", "done",
                             detail={"intents": {str(k): v for k, v in settled.intents.items()},
                                     "requests": settled.requests})
        return settled

    async def _finish(self, p: Pending) -> str | None:
        svc, now = self.svc, self.svc.clock()
        if p.command in DESK_ACTIONS:
            await run_desk_action(svc, p)
            found = svc.pending.get(p.id)
            return found.state if found else None
        intent_states = svc.executor.states_of(p.id)
        if any(s in OPEN for s in intent_states):
            svc.pending.transition(p.id, states.EXECUTING, states.EXECUTING, now=now,
                                   note="outcome unknown: reconciling with the exchange")
            return None
        done = sum(1 for s in intent_states if s == DONE)
        if intent_states and done == len(intent_states) >= len(p.steps):  # every call it showed went through
            moved = svc.pending.transition(p.id, states.EXECUTING, states.DONE, now=now,
                                           note="executed before the bot restarted")
            return states.DONE if moved else None
        if done:  # e.g. a partial close sold, then died before its repay: never called done
            why = f"{PARTLY}: {'; '.join(p.steps[:done])} went through; not done: {'; '.join(p.steps[done:])}"
        elif not intent_states:
            why = "not executed: the bot stopped before sending it"
        else:
            why = "not executed: the exchange never received it"
        moved = svc.pending.transition(p.id, states.EXECUTING, states.FAILED, now=now, note=why)
        return states.FAILED if moved else None

    async def tell(self) -> int:
        """Send every untold outcome to its requester; returns how many were delivered. One pass at a time
        in a process (the heartbeat's and a platform's arrival may overlap): the other one skips."""
        if not self._telling.acquire(blocking=False):
            return 0
        try:
            return await self._tell()
        finally:
            self._telling.release()

    async def _tell(self) -> int:
        svc, now = self.svc, self.svc.clock()
        untold = svc.pending.untold()
        if not untold:
            return 0
        dead = svc.processes.dead({p.owner for p in untold})
        told = 0
        for p in untold:
            if p.id in svc.running or (p.owner not in dead and now - p.updated_at < TELL_GRACE):
                continue
            delivered = await svc.notifier.publish(Notice("approvals", outcome_reply(p), to_members=(p.requester,),
                                                          to_channels=False))
            if delivered:
                svc.pending.mark_told(p.id, now)
                told += 1
        return told

    def expire_due(self) -> None:
        now = self.svc.clock()
        for p in self.svc.pending.open_actions():
            if now >= p.expires_at:
                self.svc.pending.transition(p.id, p.state, states.EXPIRED, now=now)

    async def run_once(self) -> None:
        await self.settle()
        await self.tell()
        self.expire_due()


def outcome_reply(p: Pending) -> Reply:
    if p.state == states.DONE:
        return Reply(title=f"Done [{p.short_id}]: {views.describe(p)}.", severity=Severity.SUCCESS, ref=p.short_id,
                     lines=(p.note,) if p.note else ())
    if p.note.startswith(PARTLY):
        return Reply(title=f"[{p.short_id}] {views.describe(p)} was only partly executed.", severity=Severity.ERROR,
                     ref=p.short_id, lines=(p.note, "Nothing was sent twice. Check /status and finish the rest "
                                                    "by hand if you still want it."))
    return Reply(title=f"[{p.short_id}] {views.describe(p)} was not executed.", severity=Severity.ERROR,
                 ref=p.short_id, lines=(p.note or "It failed.", "Nothing was sent twice; send it again if you still "
                                        "want it."))
