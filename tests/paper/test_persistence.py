"""Persistence and feeds: restart gives the identical state (SQLite, PostgreSQL), atomic writes,
replayed prices, the seeded random walk and the realtime clock (driven by a fake wall clock)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.paper import PaperExchange, RandomWalk
from adapters.paper.feeds import ReplayError
from adapters.paper.tables import paper_tables
from chatbot.exchange import (
    CROSS,
    SPOT,
    ExchangeError,
    LoanStatus,
    LoanType,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    SideEffect,
    isolated_account,
)

from .helpers import D, Open, limit, market, paper_config, utc

SCENARIO_CONFIG: dict[str, Any] = {
    "start_time": "2024-01-01T00:10:00Z", "taker_fee": "0.001", "maker_fee": "0.0005",
    "prices": {"BTCUSDT": "35000", "ETHUSDT": "2000"},
    "spot": {"USDT": "100000", "BTC": "2"}, "cross": {"USDT": "20000"},
    "isolated": {"ETHUSDT": {"USDT": "1000"}},
}


async def run_scenario(ex: PaperExchange) -> None:
    """Every kind of state and record: balances, loans, interest, orders, OCO, trades, liquidation."""
    await ex.transfer("BTC", D("1"), SPOT, CROSS)
    await ex.transfer("USDT", D("2000"), SPOT, isolated_account("BTCUSDT"))
    await ex.borrow("USDT", D("5000"))
    await ex.place_order(market(Side.SELL, "0.5", SideEffect.MARGIN_BUY))
    await ex.place_order(limit(Side.BUY, "0.2", "30000", SideEffect.MARGIN_BUY, client_order_id="resting-1"))
    await ex.place_oco("BTCUSDT", Side.SELL, D("0.3"), D("40000"), D("30000"), stop_limit_price=D("29900"))
    await ex.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.STOP_LOSS_LIMIT, quantity=D("0.01"),
                                      price=D("38100"), stop_price=D("38000")))
    await ex.borrow("USDT", D("9000"), "ETHUSDT")
    await ex.place_order(market(Side.BUY, "4.9", symbol="ETHUSDT", isolated=True))
    await ex.advance(5 * 3600 + 123)
    await ex.set_price("ETHUSDT", D("1850"))  # the isolated 10x long is liquidated
    await ex.set_price("BTCUSDT", D("34000.37"))
    await ex.repay("USDT", D("100"))


async def assert_same(a: PaperExchange, b: PaperExchange) -> None:
    assert b.book.dump() == a.book.dump()
    for sym in [None, *await a.isolated_symbols()]:
        assert await b.account(sym) == await a.account(sym)
        assert await b.interest_history(isolated_symbol=sym) == await a.interest_history(isolated_symbol=sym)
        assert await b.liquidation_records(isolated_symbol=sym) == await a.liquidation_records(isolated_symbol=sym)
        for t in LoanType:
            assert await b.loan_records(t, isolated_symbol=sym) == await a.loan_records(t, isolated_symbol=sym)
    assert await b.isolated_symbols() == await a.isolated_symbols()
    assert await b.open_orders() == await a.open_orders()
    assert await b.all_orders("BTCUSDT") == await a.all_orders("BTCUSDT")
    assert await b.transfer_records() == await a.transfer_records()
    assert await b.prices() == await a.prices()
    assert await b.now() == await a.now()
    assert await b.spot_balances() == await a.spot_balances()


async def check_restart(engine: Engine) -> None:
    config = paper_config(**SCENARIO_CONFIG)
    ex = await PaperExchange.open(engine, config)
    await run_scenario(ex)
    assert await ex.liquidation_records(isolated_symbol="ETHUSDT")  # the scenario did liquidate
    assert len(await ex.open_orders()) == 4  # resting limit, two OCO legs, the stop-limit
    again = await PaperExchange.open(engine, config)
    await assert_same(ex, again)
    next_id = ex.book.next_order
    order = await again.place_order(market(Side.BUY, "0.01"))
    assert order.order_id == next_id
    resting = await again.get_order("BTCUSDT", client_order_id="resting-1")
    assert resting.status == OrderStatus.NEW
    await again.set_price("BTCUSDT", D("29950"))  # restored orders still trigger and fill
    assert (await again.get_order("BTCUSDT", client_order_id="resting-1")).status == OrderStatus.FILLED
    third = await PaperExchange.open(engine, config)
    await assert_same(again, third)


async def test_restart_restores_identical_state_sqlite(db: Engine) -> None:
    await check_restart(db)


@pytest.mark.postgres
async def test_restart_restores_identical_state_postgres(pg_db: Engine) -> None:
    await check_restart(pg_db)


async def test_a_rejected_call_writes_nothing(db: Engine, open_exchange: Open) -> None:
    ex = await open_exchange(cross={"USDT": "1000"})
    await ex.borrow("USDT", D("100"))
    before = ex.book.dump()
    with db.connect() as conn:
        rows_before = [conn.execute(sa.select(t)).all() for t in paper_tables()]
    with pytest.raises(ExchangeError):
        await ex.borrow("USDT", D("100000"))
    with pytest.raises(ExchangeError):
        await ex.place_order(market(Side.BUY, "1"))
    with db.connect() as conn:
        assert [conn.execute(sa.select(t)).all() for t in paper_tables()] == rows_before
    assert ex.book.dump() == before and ex.recoveries == 0


async def test_a_failed_write_rolls_memory_back(db: Engine, open_exchange: Open) -> None:
    ex = await open_exchange(cross={"USDT": "1000"})
    before = ex.book.dump()
    real_write = ex.store.write

    def failing_write(*args: Any, **kwargs: Any) -> None:
        raise sa.exc.OperationalError("UPDATE paper_balances", {}, Exception("disk I/O error"))

    ex.store.write = failing_write  # type: ignore[method-assign]
    with pytest.raises(sa.exc.OperationalError):
        await ex.borrow("USDT", D("100"))
    ex.store.write = real_write  # type: ignore[method-assign]
    assert ex.recoveries == 1
    assert ex.book.dump() == before
    assert (await ex.account()).asset("USDT").borrowed == 0
    await ex.borrow("USDT", D("100"))  # and it keeps working
    assert (await PaperExchange.open(db, ex.config)).book.dump() == ex.book.dump()


async def test_restart_with_a_changed_config(db: Engine) -> None:
    ex = await PaperExchange.open(db, paper_config(cross={"USDT": "1000"}))
    await ex.set_price("BTCUSDT", D("36000"))
    wider = paper_config(prices={"BTCUSDT": "35000", "ETHUSDT": "2000"}, cross={"USDT": "1000"},
                         daily_interest_rates={"ETH": "0.0001", "USDT": "0.0001"})
    again = await PaperExchange.open(db, wider)
    assert await again.prices() == {"BTCUSDT": D("36000"), "ETHUSDT": D("2000")}  # saved wins, new added
    await again.transfer("USDT", D("10"), CROSS, isolated_account("ETHUSDT"))
    await again.borrow("ETH", D("0.01"), "ETHUSDT")
    with pytest.raises(ValueError, match="ETH"):
        await PaperExchange.open(db, paper_config())  # ETH held, but ETHUSDT no longer configured


async def test_pending_async_loan_survives_a_restart(db: Engine, open_exchange: Open) -> None:
    ex = await open_exchange(cross={"USDT": "1000"}, async_loans=True)
    tx = await ex.borrow("USDT", D("100"))
    again = await PaperExchange.open(db, ex.config)
    with pytest.raises(ExchangeError) as err:
        await again.borrow("USDT", D("1"))
    assert err.value.code == -3007
    await again.advance(0)
    [rec] = await again.loan_records(LoanType.BORROW, tx_id=tx)
    assert rec.status == LoanStatus.CONFIRMED


# ---------------------------------------------------------------------------- replay feed


async def test_replay_prices_follow_the_paper_clock_and_survive_restart(db: Engine, tmp_path: Path) -> None:
    replay = tmp_path / "prices.csv"
    replay.write_text("timestamp,symbol,price\n"
                      "2024-01-01T00:00:00Z,BTCUSDT,34000\n"
                      "1704070800000,BTCUSDT,33000\n"
                      "2024-01-01T01:30:00Z,btcusdt,32000\n"
                      "2024-01-01T03:00:00Z,BTCUSDT,31000\n", encoding="utf-8")
    config = paper_config(price_feed="replay", replay_file=str(replay), cross={"USDT": "10000"})
    ex = await PaperExchange.open(db, config)
    assert (await ex.prices())["BTCUSDT"] == D("34000")  # rows already past at open are applied
    await ex.advance(3600)
    assert (await ex.prices())["BTCUSDT"] == D("33000")
    order = await ex.place_order(limit(Side.BUY, "0.1", "32500"))
    await ex.advance(3600)  # 01:30 → 32,000 fills the bid at its limit
    filled = await ex.get_order("BTCUSDT", order_id=order.order_id)
    assert filled.status == OrderStatus.FILLED and filled.update_time == utc(2024, 1, 1, 1, 30)
    again = await PaperExchange.open(db, config)
    assert (await again.prices())["BTCUSDT"] == D("32000")
    await again.advance(3599)
    assert (await again.prices())["BTCUSDT"] == D("32000")
    await again.advance(1)
    assert (await again.prices())["BTCUSDT"] == D("31000")


def test_replay_file_errors(tmp_path: Path) -> None:
    from adapters.paper.feeds import load_replay
    from adapters.paper.model import build_symbols

    symbols = build_symbols(paper_config())
    bad = tmp_path / "bad.csv"
    for text, needle in [("2024-01-01T00:00:00Z,ETHUSDT,1\n", "unknown symbol"),
                         ("yesterday,BTCUSDT,1\n", "bad timestamp"),
                         ("1704070800000,BTCUSDT,-5\n", "positive"),
                         ("1704070800000,BTCUSDT\n", "expected")]:
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(ReplayError, match=needle):
            load_replay(bad, symbols)


# ---------------------------------------------------------------------------- wall-clock feeds


class FakeWall:
    """A wall clock that jumps instead of sleeping (the loops then run as fast as the event loop)."""

    def __init__(self) -> None:
        self.t = 5000.0

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        await asyncio.sleep(0)


async def _until(predicate: Callable[[], bool], limit: int = 10_000) -> None:
    for _ in range(limit):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


async def test_random_walk_is_seeded_deterministic_and_continues_after_restart(tmp_path: Path) -> None:
    from adapters.paper import create_tables
    from chatbot.store.db import make_engine

    histories = []
    for name in ("a", "b"):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        create_tables(engine)
        config = paper_config(price_feed="random_walk", random_walk_seed=42, random_walk_step_seconds=5,
                              prices={"BTCUSDT": "35000", "ETHUSDT": "2000"})
        ex = await PaperExchange.open(engine, config, clock=FakeWall())
        seen: list[dict[str, Any]] = []
        ex.subscribe(lambda e, seen=seen: seen.append(dict(e.data["prices"])) if e.kind == "price" else None)
        await ex.start()
        await _until(lambda ex=ex: ex.book.walk_steps >= 6)
        await ex.close()
        steps = ex.book.walk_steps
        expected = {"BTCUSDT": D("35000"), "ETHUSDT": D("2000")}
        walk = RandomWalk(42, config.random_walk_volatility)
        for n in range(steps):
            expected = walk.step(expected, ex.book.symbols, n)
        assert await ex.prices() == expected
        assert expected != {"BTCUSDT": D("35000"), "ETHUSDT": D("2000")}
        assert len(seen) == steps  # one price event per tick, carrying every symbol that moved
        assert all(set(p) == {"BTCUSDT", "ETHUSDT"} for p in seen) and seen[-1] == expected
        again = await PaperExchange.open(engine, config, clock=FakeWall())
        assert again.book.walk_steps == steps  # the step counter is persisted …
        await again._run(again._walk_step)  # … so the next step is the one the first run would take
        assert await again.prices() == walk.step(expected, ex.book.symbols, steps)
        histories.append(expected)
        engine.dispose()
    assert len(histories) == 2


async def test_realtime_clock_advances_with_the_wall_and_resumes_where_it_stood(db: Engine) -> None:
    config = paper_config(clock="realtime", cross={"USDT": "10000"})
    wall = FakeWall()
    ex = await PaperExchange.open(db, config, clock=wall, realtime_tick=600)
    await ex.borrow("USDT", D("1000"))
    start = await ex.now()
    await ex.start()
    await _until(lambda: (ex.book.now_ms - int(start.timestamp() * 1000)) >= 3 * 3_600_000)
    await ex.close()
    stopped = await ex.now()
    assert (stopped - start).total_seconds() >= 3 * 3600
    hours = len(await ex.interest_history(asset="USDT")) - 1
    assert hours >= 3 and (await ex.account()).asset("USDT").interest == D("0.01") * (hours + 1)
    wall.t += 10 * 24 * 3600  # the bot was down for ten days: the paper clock does not jump
    again = await PaperExchange.open(db, config, clock=wall, realtime_tick=600)
    assert await again.now() == stopped
    await again.start()
    await _until(lambda: again.book.now_ms >= int(stopped.timestamp() * 1000) + 600_000)
    await again.close()
    assert (await again.now() - stopped).total_seconds() < 3600
