"""What a command handler works with: the desk's stores and ports (`Services`) and one call (`Call`).

Handlers, the confirmation/approval gate, execution and recovery all take a `Services`, so none of
them holds a reference to the `DeskCore` facade or to each other: the chain (`chatbot.chain`)
decides who may act, the handlers decide what happens.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy.engine import Engine

from chatbot.alerts.incidents import IncidentStore
from chatbot.alerts.monitor import MarginMonitor
from chatbot.alerts.summary import InterestSummarizer
from chatbot.commands.parser import Market
from chatbot.commands.registry import CommandSpec
from chatbot.config import DeskConfig, PolicyConfig
from chatbot.exchange import Exchange
from chatbot.execution import Executor
from chatbot.flows.pending import PendingStore
from chatbot.notify import Notifier, SubscriptionStore
from chatbot.replies import Request
from chatbot.store.audit import AuditLog
from chatbot.store.db import on_conflict_retry, session_scope
from chatbot.store.members import DeskMember, MemberStore
from chatbot.store.processes import ProcessRegistry
from chatbot.store.tables import DeskState
from chatbot.workers import unit_cache

Clock = Callable[[], datetime]
HALT_KEY = "halt"
POLICY_KEY = "policy"


@dataclass
class Services:
    engine: Engine
    exchange: Exchange
    desk: DeskConfig
    clock: Clock
    paper: bool
    members: MemberStore
    pending: PendingStore
    audit: AuditLog
    executor: Executor
    notifier: Notifier
    subscriptions: SubscriptionStore
    incidents: IncidentStore
    monitor: MarginMonitor
    summarizer: InterestSummarizer
    processes: ProcessRegistry
    market: Market = field(default_factory=lambda: Market({}))
    running: Counter[int] = field(default_factory=Counter)  # pending actions this process is executing now
    _running_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def executing(self, pending_id: int) -> Callable[[], None]:
        """Mark a pending action as executing in this process (before its state says so, for recovery
        on another worker to leave it alone); returns the unmark. Counted: two answers racing for it
        each mark and unmark, and the loser's unmark leaves the winner's mark."""
        with self._running_lock:
            self.running[pending_id] += 1

        def done() -> None:
            with self._running_lock:
                self.running[pending_id] -= 1
                if self.running[pending_id] <= 0:
                    del self.running[pending_id]

        return done

    # ------------------------------------------------------------------ desk-wide state

    def _state(self, key: str) -> dict[str, Any]:
        with session_scope(self.engine) as s:
            row = s.get(DeskState, key)
            return dict(json.loads(row.value_json)) if row else {}

    def _set_state(self, key: str, value: dict[str, Any]) -> None:
        on_conflict_retry(lambda: self._write_state(key, value))  # two admins at once: both land, last wins

    def _write_state(self, key: str, value: dict[str, Any]) -> None:
        now = self.clock()
        with session_scope(self.engine) as s:
            row = s.get(DeskState, key) or DeskState(key=key, value_json="{}")
            row.value_json, row.updated_at = json.dumps(value, sort_keys=True, default=str), now
            s.add(row)

    def halted(self) -> bool:
        return bool(self._state(HALT_KEY).get("halted"))

    def set_halt(self, halted: bool, *, reason: str, by: str) -> None:
        self._set_state(HALT_KEY, {"halted": halted, "reason": reason, "by": by, "at": self.clock().isoformat()})

    def policy(self) -> PolicyConfig:
        """The TOML policy with the changes admins approved from chat (`/setpolicy`) on top (read once
        per request: every step of one request judges by the same policy)."""
        cache = unit_cache()
        if cache is not None and POLICY_KEY in cache:
            return cast(PolicyConfig, cache[POLICY_KEY])
        overrides = self._state(POLICY_KEY)
        policy = PolicyConfig.model_validate({**self.desk.policy.model_dump(), **overrides}) if overrides \
            else self.desk.policy
        if cache is not None:
            cache[POLICY_KEY] = policy
        return policy

    def policy_overrides(self) -> dict[str, str]:
        return {k: str(v) for k, v in self._state(POLICY_KEY).items()}

    def set_policy_override(self, key: str, value: str) -> None:
        self._set_state(POLICY_KEY, {**self._state(POLICY_KEY), key: value})
        cache = unit_cache()
        if cache is not None:
            cache.pop(POLICY_KEY, None)

    def leverage_limit(self, member: DeskMember) -> Decimal:
        return member.max_leverage or self.policy().default_max_leverage


@dataclass(frozen=True)
class Call:
    """One command on its way through a handler: who, which command, the validated arguments."""

    spec: CommandSpec
    member: DeskMember
    request: Request
    args: dict[str, Any]
    via_button: bool = False
