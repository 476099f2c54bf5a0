"""The monitor's cycle reads every account at once; it must say exactly what checking them one by one says.

Two desks on two fresh databases of the same backend play the same script (cross and two isolated
accounts: warnings, margin calls, an acknowledgement, escalations, repeats, a repay that resolves,
liquidations). One runs `check_all()` (bulk reads, quiet incidents written together); the other checks
each account on its own, as the cycle did before. Every notice, in order, and every incident row must
match. Also: the quiet write touches only moved levels and never undoes what another process did.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.paper import PaperExchange
from chatbot.alerts.incidents import AlertBand, Incident, IncidentStore
from chatbot.alerts.monitor import MarginMonitor
from chatbot.config import AlertsConfig, ChannelConfig, DeskConfig, PaperConfig
from chatbot.core import DeskCore
from chatbot.exchange import OrderRequest, OrderType, Side, SideEffect
from chatbot.replies import Notice
from chatbot.store import migrate
from chatbot.store.db import make_engine, normalize_url
from tests.core.desk import AUDIT_KEY, MEMBERS, FakeClock
from tests.recorders import Recorder

D = Decimal
PAPER = PaperConfig(prices={"BTCUSDT": D("30000"), "ETHUSDT": D("2000")}, cross={"USDT": D("10000")},
                    isolated={"BTCUSDT": {"USDT": D("1000")}, "ETHUSDT": {"USDT": D("1000")}},
                    daily_interest_rates={"BTC": D("0.00024"), "ETH": D("0.00024"), "USDT": D("0.00024")},
                    taker_fee=D("0"), maker_fee=D("0"))
ALERTS = AlertsConfig(warn_level=D("1.3"), hysteresis=D("0.05"), repeat_interval_seconds=1800,
                      escalate_after_seconds=1800)
CHANNELS = [ChannelConfig(platform="console", id="desk", kinds={"margin": "on"})]


@pytest.fixture
def twin_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second fresh database on `db_url`'s backend."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'twin.db'}"
        return
    server, schema = normalize_url(os.environ["CHATBOT_TEST_POSTGRES_URL"]), "t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(server)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


async def open_twin(url: str) -> tuple[DeskCore, PaperExchange, Recorder]:
    """A desk whose monitor runs only when the test says (not on exchange events), with three accounts in debt."""
    migrate.upgrade(url)
    engine = make_engine(url)
    exchange = await PaperExchange.open(engine, PAPER)
    core = DeskCore(engine=engine, exchange=exchange, clock=FakeClock(), audit_key=AUDIT_KEY,
                    desk=DeskConfig(members=MEMBERS, paper=PAPER, alerts=ALERTS, channels=CHANNELS))
    await core.start()
    exchange.unsubscribe(core.monitor.on_event)
    recorder = Recorder()
    core.notifier.register(recorder)
    await exchange.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=D("1"),
                                            side_effect=SideEffect.MARGIN_BUY))  # cross: ML 1.5
    await exchange.borrow("USDT", D("2000"), "BTCUSDT")
    await exchange.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=D("0.1"),
                                            isolated=True))  # isolated BTCUSDT: 3000 / 2000 = 1.5
    await exchange.borrow("USDT", D("4000"), "ETHUSDT")  # isolated ETHUSDT: 5000 / 4000 = 1.25, warn
    return core, exchange, recorder


async def one_by_one(m: MarginMonitor) -> None:
    """The cycle as it ran before the bulk reads: each account read, decided and written on its own."""
    for symbol in [None, *await m.exchange.isolated_symbols()]:
        await m.check(symbol)
    await m.liquidations.repeat(m.rules.repeat_interval, await m.exchange.now(), m._deliver)


def said(rec: Recorder) -> list[tuple[object, ...]]:
    def one(who: str, n: Notice) -> tuple[object, ...]:
        r = n.reply
        return (who, n.kind, n.key, sorted(n.data.items()), n.to_members, r.title, r.fields, r.lines, r.severity,
                [a.label for a in r.actions], r.mentions)
    return [one("#desk", n) for n in rec.channel] + [one(name, n) for name, n in rec.dms]


def rows(store: IncidentStore) -> list[Incident]:
    return [replace(i, nonce="") for i in store.history()]


async def test_bulk_cycle_says_what_account_by_account_checks_say(db_url: str, twin_url: str) -> None:
    (bulk, bulk_ex, bulk_rec), (single, single_ex, single_rec) = await open_twin(db_url), await open_twin(twin_url)
    steps: list[tuple[int, dict[str, Decimal]]] = [
        (0, {}), (10, {"BTCUSDT": D("27000")}), (10, {"BTCUSDT": D("26000")}), (10, {"BTCUSDT": D("26050")}),
        (10, {"BTCUSDT": D("26050")}), (25, {"BTCUSDT": D("25500")}), (40, {"BTCUSDT": D("25400")}),
        (10, {"BTCUSDT": D("20000")}), (40, {"BTCUSDT": D("20100")}),
    ]
    try:
        for n, (minutes, prices) in enumerate(steps):
            for ex in (bulk_ex, single_ex):
                await ex.advance(minutes * 60)
                if prices:
                    await ex.set_prices(prices)
            if n == 5:  # somebody takes the cross margin call in; the ETH account is shored up
                for core, ex in ((bulk, bulk_ex), (single, single_ex)):
                    (cross,) = [i for i in core.monitor.incidents.all_open() if i.account == "cross"]
                    assert core.monitor.acknowledge(str(cross.id), "carol") is not None
                    await ex.repay("USDT", D("2000"), "ETHUSDT")
            await bulk.monitor.check_all()
            await one_by_one(single.monitor)
            assert said(bulk_rec) == said(single_rec), f"after step {n}"
            assert rows(bulk.monitor.incidents) == rows(single.monitor.incidents), f"after step {n}"
        events = {(n.data["event"], n.data["account"]) for n in bulk_rec.channel}
        assert {("fire", "ETHUSDT"), ("fire", "cross"), ("fire", "BTCUSDT"), ("escalate", "BTCUSDT"),
                ("repeat", "cross"), ("resolve", "ETHUSDT")} <= events, events
        assert {n.data["band"] for n in bulk_rec.channel} >= {"LIQUIDATION", "MARGIN_CALL", "WARN"}
        assert any(n.data["event"] == "repeat" and n.data["band"] == "LIQUIDATION" for n in bulk_rec.channel)
    finally:
        for core, ex in ((bulk, bulk_ex), (single, single_ex)):
            await core.stop()
            await ex.close()


async def test_quiet_writes_only_moved_levels_and_leave_what_others_did(db_url: str) -> None:
    migrate.upgrade(db_url)
    store = IncidentStore(make_engine(db_url))
    now = datetime(2024, 1, 1, tzinfo=UTC)
    opened = [store.save(Incident(None, name, AlertBand.WARN, f"n-{name}", now, now, D("1.25")))
              for name in ("cross", "BTCUSDT", "ETHUSDT")]
    cross, btc, eth = opened
    assert store.acknowledge(str(cross.id), "carol") is not None  # another process, after this one read them
    other_resolved = store.save(replace(btc, resolved_at=now))
    store.save_quietly([replace(cross, last_level=D("1.2412345678")), replace(btc, last_level=D("1.1")),
                        replace(eth, resolved_at=now, last_level=D("1.4"))])
    after = {i.account: i for i in store.history()}
    assert after["cross"].last_level == D("1.24123457") and after["cross"].acknowledged_by == "carol"
    assert after["BTCUSDT"] == other_resolved  # resolved meanwhile: neither reopened nor changed
    assert after["ETHUSDT"].resolved_at == now and after["ETHUSDT"].last_level == D("1.4")
    store.save_quietly([])
