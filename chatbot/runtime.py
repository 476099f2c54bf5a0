"""Assemble a running desk from settings: database, exchange adapter, core, background work.

The core never imports an adapter; this module finds the exchange adapter by name
(`adapters.paper`, `adapters.binance`), each exposing `async open_exchange(engine, desk, settings)`.
Start-up order: the database (upgraded, tagged paper or live), the exchange, the core — which
settles anything a previous run left open before anything is served — then the background work:
the paper feeds, the single-leader scheduler, the core's heartbeat and recovery, audit anchors.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from chatbot import scheduler
from chatbot.config import ConfigError, DeskConfig, Settings
from chatbot.core import DeskCore
from chatbot.exchange import Exchange
from chatbot.replies import Notice, Reply
from chatbot.scheduler import LeaderScheduler
from chatbot.store import migrate
from chatbot.store.anchors import MIN_KEY_LENGTH, AnchorFile, load_audit_key
from chatbot.store.db import make_engine
from chatbot.store.mode import claim_database
from chatbot.workers import off_loop

log = logging.getLogger(__name__)
EXCHANGE_ADAPTERS = {"paper": "adapters.paper", "binance": "adapters.binance"}


@dataclass
class Desk:
    engine: Engine
    exchange: Exchange
    core: DeskCore
    anchors: AnchorFile
    leader: LeaderScheduler | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start_background(self) -> None:
        """Live feeds (paper clock and prices), the single-leader scheduler, the core's heartbeat and
        recovery, audit anchors, and the start-up danger summary."""
        start = getattr(self.exchange, "start", None)
        if start is not None:
            await start(is_leader=scheduler.is_leader)
        scheduler.set_context(self.core)
        alerts = self.core.desk.alerts
        self.leader = LeaderScheduler.from_config(self.engine, alerts, scheduler.desk_job_specs(alerts))
        await self.leader.start()
        self.tasks.append(asyncio.create_task(self.core.background(), name="desk-recovery"))
        self.tasks.append(asyncio.create_task(self._anchor_loop(), name="audit-anchors"))
        await off_loop(self.anchor)
        subscriptions = await off_loop(self.core.services.subscriptions.all)
        if not any(s.kind == "margin" and s.mode != "off" for s in subscriptions):
            log.warning("no alert channel is subscribed to margin alerts: margin calls go to the admins by direct "
                        "message. Add a [[channels]] entry with kinds.margin = \"on\" or type /subscribe margin "
                        "in a channel.")
        await self.core.workers.run(self.core.monitor.startup_summary)

    def anchor(self) -> Reply | None:
        """Write the audit log's head to the anchor file; the reply to post, when there was a new head."""
        found = self.anchors.anchor(self.core.audit)
        if found is None:
            return None
        return Reply(title="Audit anchor", lines=(f"{found.short} at {found.at:%Y-%m-%d %H:%M} UTC.",
                                                  "Keep this message: `chatbot audit verify` checks the log "
                                                  "against it."))

    async def _anchor_loop(self) -> None:
        every = self.core.desk.audit.anchor_minutes * 60
        while True:
            await asyncio.sleep(every)
            if not scheduler.is_leader():
                continue
            try:
                reply = await off_loop(self.anchor)
                if reply is not None:
                    await self.core.notifier.publish(Notice("system", reply))
            except Exception:
                log.exception("could not anchor the audit log")

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.core.quiet(), 10)  # outcomes still being told
        await self.core.notifier.drain()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.leader is not None:
            await self.leader.stop()
        with contextlib.suppress(Exception):
            await off_loop(self.anchor)
        await self.core.stop()
        await self.exchange.close()
        self.engine.dispose()


async def open_exchange(engine: Engine, desk: DeskConfig, settings: Settings) -> Exchange:
    module_name = EXCHANGE_ADAPTERS[settings.chatbot_exchange]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        raise ConfigError(f"CHATBOT_EXCHANGE={settings.chatbot_exchange}: that exchange adapter is not "
                          "installed in this build") from None
    opened: Exchange = await module.open_exchange(engine, desk, settings)
    return opened


async def check_exchange(settings: Settings) -> str | None:
    """The exchange adapter's own start-up checks (a live key's restrictions, the clock, the markets) for
    `chatbot config check`: one line to show, or None when the adapter has none (paper)."""
    module = importlib.import_module(EXCHANGE_ADAPTERS[settings.chatbot_exchange])
    check = getattr(module, "check_connection", None)
    if check is None:
        return None
    url = settings.chatbot_database_url
    path = url.removeprefix("sqlite:///")
    if url.startswith("sqlite") and (path in ("", ":memory:") or not Path(path).exists()):
        return str(await check(settings, None))  # no database yet: no persisted ban to honour
    engine = make_engine(url)
    try:
        return str(await check(settings, engine))
    finally:
        engine.dispose()


def audit_key(settings: Settings) -> bytes:
    env = settings.chatbot_audit_key.get_secret_value() if settings.chatbot_audit_key else None
    try:
        key = load_audit_key(env, settings.chatbot_audit_key_file)
    except OSError as exc:
        raise ConfigError(f"CHATBOT_AUDIT_KEY_FILE={settings.chatbot_audit_key_file}: cannot read or create it "
                          f"({exc.strerror})") from None
    if len(key) < MIN_KEY_LENGTH:
        where = "CHATBOT_AUDIT_KEY" if env else f"CHATBOT_AUDIT_KEY_FILE={settings.chatbot_audit_key_file}"
        raise ConfigError(f"{where}: the audit key must be at least {MIN_KEY_LENGTH} characters")
    return key


async def open_desk(settings: Settings, desk: DeskConfig, *, upgrade: bool = True) -> Desk:
    key = audit_key(settings)
    if upgrade:
        migrate.upgrade(settings.chatbot_database_url)
    engine = make_engine(settings.chatbot_database_url, workers=settings.chatbot_workers)
    try:
        claim_database(engine, settings.chatbot_exchange)
        exchange = await open_exchange(engine, desk, settings)
        core = DeskCore(engine=engine, exchange=exchange, desk=desk, audit_key=key, workers=settings.chatbot_workers)
        await core.start()
    except BaseException:
        engine.dispose()
        raise
    return Desk(engine, exchange, core, AnchorFile(settings.chatbot_audit_anchor_file))
