"""Assemble a running desk from settings: database, exchange adapter, core.

The core never imports an adapter; this module finds the exchange adapter by name
(`adapters.paper`, `adapters.binance`), each exposing `async open_exchange(engine, desk, settings)`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from chatbot import scheduler
from chatbot.config import ConfigError, DeskConfig, Settings
from chatbot.core import DeskCore
from chatbot.exchange import Exchange
from chatbot.scheduler import LeaderScheduler
from chatbot.store import migrate
from chatbot.store.db import make_engine
from chatbot.store.mode import claim_database

EXCHANGE_ADAPTERS = {"paper": "adapters.paper", "binance": "adapters.binance"}


@dataclass
class Desk:
    engine: Engine
    exchange: Exchange
    core: DeskCore
    leader: LeaderScheduler | None = None

    async def start_background(self) -> None:
        """Live feeds (paper clock and prices), the single-leader scheduler, the start-up danger summary."""
        start = getattr(self.exchange, "start", None)
        if start is not None:
            await start()
        scheduler.set_context(self.core)
        self.leader = LeaderScheduler.from_config(self.engine, self.core.desk.alerts,
                                                  scheduler.desk_job_specs(self.core.desk.alerts))
        await self.leader.start()
        await self.core.monitor.startup_summary()

    async def close(self) -> None:
        if self.leader is not None:
            await self.leader.stop()
        await self.exchange.close()
        self.engine.dispose()


async def open_exchange(engine: Engine, desk: DeskConfig, settings: Settings) -> Exchange:
    module_name = EXCHANGE_ADAPTERS[settings.chatbot_exchange]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        raise ConfigError(f"CHATBOT_EXCHANGE={settings.chatbot_exchange}: that exchange adapter is not "
                          "installed in this build") from None
    return await module.open_exchange(engine, desk, settings)  # type: ignore[no-any-return]


async def open_desk(settings: Settings, desk: DeskConfig, *, upgrade: bool = True) -> Desk:
    if upgrade:
        migrate.upgrade(settings.chatbot_database_url)
    engine = make_engine(settings.chatbot_database_url)
    claim_database(engine, settings.chatbot_exchange)
    exchange = await open_exchange(engine, desk, settings)
    core = DeskCore(engine=engine, exchange=exchange, desk=desk)
    await core.start()
    return Desk(engine, exchange, core)
