"""Test desk on the live adapter: the fake Binance, python-binance's real AsyncClient, the core, a database.

`open_live_desk` builds what `chatbot.runtime.open_desk` builds for `CHATBOT_EXCHANGE=binance` — a
migrated database tagged live, `adapters.binance` connected (start-up checks included) and a
`DeskCore` — with short timeouts and consistency waits so fault tests run in well under a second.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from adapters.binance import BinanceExchange, BinanceOptions, Consistency, Timeouts, connect
from chatbot.config import AlertsConfig, ChannelConfig, DeskConfig, PolicyConfig, Settings
from chatbot.core import DeskCore
from chatbot.replies import Actor, Reply, Request
from chatbot.store import migrate
from chatbot.store.db import make_engine
from chatbot.store.mode import claim_database
from chatbot.store.tables import Intent
from tests.core.desk import AUDIT_KEY, MEMBERS, FakeClock, short_id
from tests.fakes.binance import FakeBinance
from tests.recorders import Recorder

FAST = Timeouts(connect=2.0, read=0.5, read_retries=1, retry_delay=0.01)
QUICK = Consistency(recent_seconds=60.0, checks=3, spacing=0.05)
# The fake's clock is a simulation (2024, jumped by whole hours), so the real-clock tolerance is off here;
# tests/binance/test_clock.py runs the fake on the real clock with the default tolerance.
SYMBOLS = BinanceOptions(symbols="BTCUSDT,ETHUSDT", max_clock_offset_ms=0)
CHANNELS = [ChannelConfig(platform="console", id="desk", kinds={"margin": "on"})]


def live_settings(fake: FakeBinance, url: str = "sqlite://", **kw: Any) -> Settings:
    values: dict[str, Any] = {"chatbot_exchange": "binance", "chatbot_database_url": url,
                              "binance_api_key": SecretStr(fake.api_key),
                              "binance_api_secret": SecretStr(fake.api_secret),
                              "binance_api_base_url": fake.base_url}
    values.update(kw)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class LiveDesk:
    fake: FakeBinance
    url: str
    engine: Engine
    exchange: BinanceExchange
    core: DeskCore
    clock: FakeClock
    recorder: Recorder = field(default_factory=Recorder)

    async def say(self, who: str, text: str, **kw: Any) -> Reply:
        return await self.core.handle(Request(actor=Actor("console", who), text=text, **kw))

    async def confirmed(self, who: str, text: str) -> Reply:
        """Send a mutating command and confirm its prompt; the reply to the confirmation."""
        prompt = await self.say(who, text)
        assert prompt.actions, prompt.text()
        return await self.say(who, f"/confirm {short_id(prompt)}")

    def intents(self) -> list[Intent]:
        with Session(self.engine) as s:
            return list(s.exec(select(Intent).order_by(Intent.id)).all())  # type: ignore[arg-type]

    def cross(self, asset: str) -> Any:
        return self.fake.book.snapshot(None).asset(asset)

    async def close(self) -> None:
        await self.core.stop()  # this process's instance is over: a "restart" may settle its work
        await self.exchange.close()
        self.engine.dispose()


async def open_live_desk(fake: FakeBinance, url: str, *, policy: PolicyConfig | None = None,
                         alerts: AlertsConfig | None = None, clock: FakeClock | None = None,
                         timeouts: Timeouts = FAST, consistency: Consistency = QUICK,
                         options: BinanceOptions = SYMBOLS) -> LiveDesk:
    migrate.upgrade(url)
    engine = make_engine(url)
    claim_database(engine, "binance")
    desk = DeskConfig(members=MEMBERS, policy=policy or PolicyConfig(), alerts=alerts or AlertsConfig(),
                      channels=CHANNELS)
    exchange, _ = await connect(live_settings(fake, url), engine=engine, timeouts=timeouts,
                                consistency=consistency, options=options,
                                monitor_period=float(desk.alerts.monitor_interval_seconds))
    clock = clock or FakeClock()
    core = DeskCore(engine=engine, exchange=exchange, desk=desk, clock=clock, audit_key=AUDIT_KEY)
    recorder = Recorder()
    core.notifier.register(recorder)
    await core.start()
    return LiveDesk(fake, url, engine, exchange, core, clock, recorder)


def dump_database(engine: Engine) -> str:
    """Every row of every table, as text (for the secrets check)."""
    out = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                out.append(json.dumps([str(v) for v in row]))
    return "\n".join(out)


def d(value: str) -> Decimal:
    return Decimal(value)
