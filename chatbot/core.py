"""The desk core: assembles the services and serves every platform through one chain.

Adapters call `handle(Request)` for a typed command and `press(token, actor)` for a button, and
render the `Reply` they get back; both go through the same middleware chain (`chatbot.chain`), run
as one unit of work on a worker thread (`chatbot.workers`) so the event loop never waits on the
database. Exchange events, recovery passes and scheduled jobs go through `workers.run` too.
`start()` runs before anything is served: it registers this process, syncs the TOML's members,
loads the market and settles what a previous run left open (`chatbot.flows.recovery`).
`background()` keeps doing that, with a heartbeat, while the process runs.
The core never imports a chat platform or an exchange wire format.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

import chatbot.commands.handlers  # noqa: F401  (binds every handler to the registry)
from chatbot.alerts.incidents import IncidentStore
from chatbot.alerts.monitor import MarginMonitor
from chatbot.alerts.summary import InterestSummarizer
from chatbot.chain import Chain
from chatbot.commands.parser import Market
from chatbot.config import DeskConfig
from chatbot.exchange import DrillControls, Exchange, ExchangeEvent
from chatbot.exchange.bridge import home_bound
from chatbot.execution import Executor
from chatbot.flows.pending import PendingStore
from chatbot.flows.recovery import Recovery, Settled
from chatbot.notify import Notifier, SubscriptionStore
from chatbot.replies import Actor, Reply, Request
from chatbot.services import Services
from chatbot.store.audit import AuditLog
from chatbot.store.db import database_unavailable
from chatbot.store.members import MemberStore
from chatbot.store.processes import HEARTBEAT_SECONDS, ProcessRegistry
from chatbot.workers import DEFAULT_WORKERS, Workers, off_loop

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DeskCore:
    def __init__(self, *, engine: Engine, exchange: Exchange, desk: DeskConfig, audit_key: bytes,
                 clock: Clock = _utcnow, heartbeat_seconds: float = HEARTBEAT_SECONDS,
                 workers: int = DEFAULT_WORKERS) -> None:
        self.workers = Workers(workers)
        self._background: set[asyncio.Task[Any]] = set()  # tells running now
        paper = isinstance(exchange, DrillControls)
        exchange = home_bound(exchange)  # callable from the workers, whatever loop its client lives on
        members = MemberStore(engine)
        subscriptions = SubscriptionStore(engine, desk.channels)
        notifier = Notifier(members, subscriptions)
        incidents = IncidentStore(engine)
        audit = AuditLog(engine, audit_key)
        processes = ProcessRegistry(engine, heartbeat_seconds=heartbeat_seconds)
        self.services = Services(
            engine=engine, exchange=exchange, desk=desk, clock=clock, paper=paper,
            members=members, pending=PendingStore(engine), audit=audit,
            executor=Executor(engine, exchange, audit, processes), notifier=notifier,
            subscriptions=subscriptions, incidents=incidents,
            monitor=MarginMonitor(exchange, incidents, notifier, members, desk.alerts, audit),
            summarizer=InterestSummarizer(engine, exchange, notifier), processes=processes,
        )
        self.chain = Chain(self.services)
        self.recovery = Recovery(self.services)
        notifier.on_register(self._transport_ready)

    # The stores and ports, for adapters and tests (one object each, owned by `services`).
    @property
    def engine(self) -> Engine:
        return self.services.engine

    @property
    def exchange(self) -> Exchange:
        return self.services.exchange

    @property
    def desk(self) -> DeskConfig:
        return self.services.desk

    @property
    def paper(self) -> bool:
        return self.services.paper

    @property
    def market(self) -> Market:
        return self.services.market

    @property
    def members(self) -> MemberStore:
        return self.services.members

    @property
    def pending(self) -> PendingStore:
        return self.services.pending

    @property
    def audit(self) -> AuditLog:
        return self.services.audit

    @property
    def executor(self) -> Executor:
        return self.services.executor

    @property
    def notifier(self) -> Notifier:
        return self.services.notifier

    @property
    def incidents(self) -> IncidentStore:
        return self.services.incidents

    @property
    def monitor(self) -> MarginMonitor:
        return self.services.monitor

    @property
    def summarizer(self) -> InterestSummarizer:
        return self.services.summarizer

    def halted(self) -> bool:
        return self.services.halted()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> Settled:
        """Before serving: this process on the books, members from the TOML, the market, and every
        intent and request a previous run left open settled with the exchange."""
        settled = await self.workers.run(self._start)
        self.services.exchange.subscribe(self._on_event)
        return settled

    async def _start(self) -> Settled:
        svc = self.services
        svc.processes.register()
        svc.members.sync_from_config(svc.desk.members)
        svc.market = Market(await svc.exchange.symbols())
        return await self.recovery.settle()

    async def _on_event(self, event: ExchangeEvent) -> None:
        """Exchange listener: the monitor re-checks at once and in order, on a worker (inline when the
        event came from a request's own borrow or order: the account is judged as that call left it)."""
        await self.workers.run(lambda: self.services.monitor.on_event(event))

    async def background(self) -> None:
        """Every heartbeat: say this process is alive; and settle orphans, tell requesters outcomes.

        The heartbeat never waits behind requests: when every worker is busy (a desk typing at once),
        a heartbeat queued behind them would go stale, and another process would take this one for
        dead and reconcile the very calls it is sending. So it is written from a thread of its own,
        and recovery passes queue for the workers like any request."""
        await asyncio.gather(self._heartbeats(), self._recoveries())

    async def _heartbeats(self) -> None:
        processes = self.services.processes
        while True:
            await asyncio.sleep(processes.heartbeat_seconds)
            try:
                await off_loop(processes.heartbeat)
            except Exception as exc:
                log.warning("could not write this process's heartbeat: %s", type(exc).__name__)

    async def _recoveries(self) -> None:
        while True:
            await asyncio.sleep(self.services.processes.heartbeat_seconds)
            try:
                await self.workers.run(self.recovery.run_once)
            except Exception as exc:
                if database_unavailable(exc):
                    log.warning("database unavailable; recovery will retry")
                else:
                    log.exception("recovery pass failed")

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.quiet(), 10)
        with contextlib.suppress(Exception):
            await self.workers.run(self._stop)
        self.workers.close()

    async def _stop(self) -> None:
        self.services.processes.stop()

    def _transport_ready(self) -> None:
        """A chat platform came up: outcomes nobody could be told before can be delivered now."""
        with contextlib.suppress(RuntimeError):  # no running loop (a synchronous caller)
            self._track(asyncio.get_running_loop().create_task(self._tell()))

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def quiet(self) -> None:
        """Wait until the work set off in the background — outcomes told when a platform came up — is
        done (a clean stop; tests)."""
        while self._background:
            await asyncio.wait(set(self._background))

    async def _tell(self) -> None:
        try:
            await self.workers.run(self.recovery.tell)
        except Exception:
            log.exception("could not tell requesters their outcomes")

    # ------------------------------------------------------------------ serving

    async def handle(self, request: Request) -> Reply:
        """A typed command from any platform."""
        return await self.workers.run(lambda: self.chain.run(request))

    async def press(self, token: str, actor: Actor, event_id: str | None = None, *,
                    chat_id: str | None = None, sent_at: datetime | None = None,
                    queued_while_away: bool = False) -> Reply:
        """A button press: the same chain as a typed command, resolved from the button's opaque token.
        `sent_at` (when the platform says it was pressed) or `queued_while_away` let the chain refuse an
        old press, as it refuses an old typed command."""
        request = Request(actor=actor, text=f"[button {token.partition(':')[0]}]", chat_id=chat_id,
                          event_id=event_id, token=token, sent_at=sent_at, queued_while_away=queued_while_away)
        return await self.workers.run(lambda: self.chain.run(request))
