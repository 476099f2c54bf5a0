"""`PaperExchange`: the paper book behind the async `Exchange` port, persisted in the project database.

Why it exists: the core talks only to `chatbot.exchange.Exchange`. This class gives it the paper
engine, and makes the database the one ledger, like a real exchange's books: every process on the
database sees and changes the same balances. The engine in memory is only a cache of the ledger,
checked against the ledger's `revision` before every read and every operation. Each mutating call
takes the ledger's write lock, reloads the cache if another process changed the ledger, runs the
(synchronous) engine operation, writes what changed and the next revision in the same
transaction, then publishes the book's events to subscribers. If anything fails after the book
began mutating, the cache is rebuilt from the database, so memory and database never disagree and
a rejected call changes nothing. `start()` runs the realtime clock and the random-walk price feed
when configured — in one process at a time (`is_leader`), so two processes never double the pace.

Any thread may call it (`thread_safe`): the core's requests run on worker threads (`chatbot.workers`).
Every read and every operation holds one threading lock around the cached book and runs its
database work off the event loop (`off_loop`: inline on a worker, in a thread from the main loop).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine

from chatbot.config import DeskConfig, PaperConfig, Settings
from chatbot.exchange import (
    AccountSnapshot,
    EventListener,
    ExchangeEvent,
    Listeners,
    SymbolInfo,
    stop_feeds,
)
from chatbot.store.db import write_transaction
from chatbot.workers import off_loop, unit_cache

from .book import Journal, PaperBook
from .feeds import RandomWalk, SystemClock, WallClock, load_replay
from .history import TradeHistory
from .model import ms_to_dt
from .order_calls import OrderCalls, _dec, _sym
from .store import PaperStore

log = logging.getLogger(__name__)
T = TypeVar("T")
REALTIME_TICK_SECONDS = 1.0


class PaperExchange(TradeHistory, OrderCalls):
    """Binance-faithful paper margin exchange (implements `Exchange` and `DrillControls`)."""

    name = "paper"
    thread_safe = True  # see the module docstring: one lock, database work off the loop

    def __init__(self, core: PaperBook, store: PaperStore, config: PaperConfig, *,
                 clock: WallClock | None = None, realtime_tick: float = REALTIME_TICK_SECONDS) -> None:
        self.book = core
        self.store = store
        self.config = config
        self.wall: WallClock = clock or SystemClock()
        self.realtime_tick = realtime_tick
        self.recoveries = 0  # times memory was rebuilt from the database after a failed operation
        self._walk = RandomWalk(config.random_walk_seed, config.random_walk_volatility)
        self._listeners = Listeners()
        self._tasks: list[asyncio.Task[None]] = []
        self.revision = 0  # the ledger revision the cached engine reflects
        self._dirty = False  # the cached engine holds changes not yet committed
        self._is_leader: Callable[[], bool] = lambda: True
        self._lock = threading.RLock()  # the cached book and its revision, across worker threads
        self._unit_key = ("paper-revision", id(self))  # the revision this unit of work has checked

    # ------------------------------------------------------------------ lifecycle

    @staticmethod
    def _new_engine(config: PaperConfig) -> PaperBook:
        core = PaperBook(config)
        if config.price_feed == "replay":
            if config.replay_file is None:
                raise ValueError("paper: price_feed = 'replay' needs replay_file")
            core.schedule = load_replay(config.replay_file, core.symbols)
        return core

    @classmethod
    async def open(cls, engine: Engine, config: PaperConfig, *, clock: WallClock | None = None,
                   realtime_tick: float = REALTIME_TICK_SECONDS) -> PaperExchange:
        """Load the saved paper state from `engine`'s database, or seed it from `config` on first use."""
        return cls.open_sync(engine, config, clock=clock, realtime_tick=realtime_tick)

    @classmethod
    def open_sync(cls, engine: Engine, config: PaperConfig, *, clock: WallClock | None = None,
                  realtime_tick: float = REALTIME_TICK_SECONDS) -> PaperExchange:
        """`open()` for callers without an event loop (benchmarks, scripts)."""
        store = PaperStore(engine)
        core = cls._new_engine(config)
        with write_transaction(engine) as conn:  # two processes starting together seed once
            revision = store.lock(conn)
            if revision is None or store.load(core, conn) is None:
                core.seed()
                revision = 1
                store.write(core, core.take_journal(), everything=True, conn=conn, revision=revision)
            core.catch_up_schedule()
            journal = core.take_journal()
            if journal.state:
                revision += 1
                store.write(core, journal, conn=conn, revision=revision)
        exchange = cls(core, store, config, clock=clock, realtime_tick=realtime_tick)
        exchange.revision = revision
        return exchange

    async def start(self, is_leader: Callable[[], bool] | None = None) -> None:
        """Start the realtime clock and/or the random-walk feed (no-op for manual + static/replay).

        `is_leader` (the scheduler's) makes them tick in one process only; the others stand by.
        """
        if is_leader is not None:
            self._is_leader = is_leader
        if self._tasks:
            return
        if self.config.clock == "realtime":
            self._tasks.append(asyncio.create_task(self._realtime_loop(), name="paper-clock"))
        if self.config.price_feed == "random_walk":
            self._tasks.append(asyncio.create_task(self._walk_loop(), name="paper-random-walk"))

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        await stop_feeds(tasks)

    async def _realtime_loop(self) -> None:
        last = self.wall.monotonic()
        while True:
            await self.wall.sleep(self.realtime_tick)
            elapsed = int((self.wall.monotonic() - last) * 1000)
            if elapsed <= 0:
                continue
            last += elapsed / 1000
            if not self._is_leader():
                continue
            try:
                await self._run(functools.partial(self._advance, elapsed))
            except Exception:
                log.exception("paper: realtime clock tick failed")

    def _advance(self, ms: int) -> None:
        self.book.advance_ms(ms)  # the book of the moment: `_run` may have reloaded it

    async def _walk_loop(self) -> None:
        while True:
            await self.wall.sleep(self.config.random_walk_step_seconds)
            if not self._is_leader():
                continue
            try:
                await self._run(self._walk_step)
            except Exception:
                log.exception("paper: random-walk step failed")

    def _walk_step(self) -> None:
        core = self.book
        core.apply_walk(self._walk.step(core.prices, core.symbols, core.walk_steps))

    # ------------------------------------------------------------------ the transaction wrapper

    async def _run(self, operation: Callable[[], T]) -> T:
        """Run one engine operation on the current ledger under its write lock, persist what it
        changed and the next revision in the same transaction, then publish its events."""
        running = asyncio.ensure_future(off_loop(self._run_locked, operation))
        try:
            done: tuple[T, list[ExchangeEvent]] = await asyncio.shield(running)
        except asyncio.CancelledError:  # stopped meanwhile (a feed's tick at close): the change still lands,
            await self._dispatch((await running)[1])  # so its events are still published
            raise
        await self._dispatch(done[1])
        return done[0]

    def _run_locked(self, operation: Callable[[], T]) -> tuple[T, list[ExchangeEvent]]:
        with self._lock:
            return self._run_now(operation)

    def _run_now(self, operation: Callable[[], T]) -> tuple[T, list[ExchangeEvent]]:
        try:
            with write_transaction(self.store.engine) as conn:
                revision = self.store.lock(conn) or 0
                if revision != self.revision:
                    self._reload(conn, revision)
                result, journal = self._apply(operation)
                if journal.state or journal.mutated:
                    revision += 1
                    self.store.write(self.book, journal, conn=conn, revision=revision)
        except BaseException:
            if self.book.take_journal().mutated or self._dirty:
                self._recover("could not persist")
            raise
        self.revision = revision
        cache = unit_cache()
        if cache is not None:  # we hold the write lock: the ledger is at this revision right now
            cache[self._unit_key] = revision
        return result, journal.events

    async def _read(self, read: Callable[[PaperBook], T]) -> T:
        """`read(book)` on the current ledger (reloaded first if another process changed it)."""
        return await off_loop(self._read_locked, read)

    def _read_locked(self, read: Callable[[PaperBook], T]) -> T:
        with self._lock:
            return read(self._fresh())

    def _apply(self, operation: Callable[[], T]) -> tuple[T, Journal]:
        core = self.book
        self._dirty = False
        try:
            result = operation()
        except BaseException:
            if core.take_journal().mutated:
                self._recover("operation failed after it began changing state")
            raise
        journal = core.take_journal()
        self._dirty = journal.mutated or bool(journal.state)
        return result, journal

    def _fresh(self) -> PaperBook:
        """The engine, reloaded first if another process changed the ledger (one cheap read, once per
        unit of work: one request's reads see the ledger as it was at its first read or its own writes)."""
        cache = unit_cache()
        if cache is not None and cache.get(self._unit_key) == self.revision:
            return self.book
        revision = self.store.revision()
        if revision is not None and revision != self.revision:
            with self.store.engine.connect() as conn:
                self._reload(conn, revision)
        if cache is not None:
            cache[self._unit_key] = self.revision
        return self.book

    def _reload(self, conn: Connection, revision: int) -> None:
        core = self._new_engine(self.config)
        self.store.load(core, conn)
        self.book, self.revision = core, revision

    def _recover(self, why: str) -> None:
        log.error("paper: %s; reloading state from the database", why)
        core = self._new_engine(self.config)
        revision = self.store.load(core)
        if revision is None:  # pragma: no cover - state is written at open
            core.seed()
        self.book, self.revision, self._dirty = core, revision or 0, False
        self.recoveries += 1

    async def _dispatch(self, events: list[ExchangeEvent]) -> None:
        for event in events:
            await self._listeners.emit(event)

    def subscribe(self, listener: EventListener) -> None:
        self._listeners.add(listener)

    def unsubscribe(self, listener: EventListener) -> None:
        self._listeners.remove(listener)

    # ------------------------------------------------------------------ reference data

    async def now(self) -> datetime:
        return await self._read(lambda b: ms_to_dt(b.now_ms))

    async def symbols(self) -> dict[str, SymbolInfo]:
        return await self._read(lambda b: dict(b.symbols))

    async def prices(self) -> dict[str, Decimal]:
        return await self._read(lambda b: dict(b.prices))

    async def daily_interest_rates(self, isolated_symbol: str | None = None) -> dict[str, Decimal]:
        return await self._read(lambda b: b.daily_rates(_sym(isolated_symbol)))

    async def trade_fee(self, symbol: str) -> Decimal:
        """Taker rate (MARKET fills); resting LIMIT fills pay `maker_fee`. Taken from the received asset."""
        await self._read(lambda b: b._symbol(symbol))
        return self.config.taker_fee

    # ------------------------------------------------------------------ accounts

    async def account(self, isolated_symbol: str | None = None) -> AccountSnapshot:
        return await self._read(lambda b: b.snapshot(_sym(isolated_symbol)))

    async def isolated_symbols(self) -> list[str]:
        return await self._read(lambda b: b.isolated_symbols())

    async def accounts(self) -> dict[str | None, AccountSnapshot]:
        """Every margin account from one read of the ledger (the monitor's cycle)."""
        return await self._read(lambda b: b.snapshots())

    async def spot_balances(self) -> dict[str, Decimal]:
        return await self._read(lambda b: b.spot_balances())

    async def max_borrowable(self, asset: str, isolated_symbol: str | None = None) -> Decimal:
        return await self._read(lambda b: b.max_borrowable(b.account_key(_sym(isolated_symbol)), asset.upper()))

    async def max_transferable(self, asset: str, isolated_symbol: str | None = None) -> Decimal:
        return await self._read(lambda b: b.max_transferable(b.account_key(_sym(isolated_symbol)), asset.upper()))

    # ------------------------------------------------------------------ borrow / repay / transfer

    async def borrow(self, asset: str, amount: Decimal, isolated_symbol: str | None = None) -> int:
        value = _dec(amount)
        return await self._run(lambda: self.book.borrow(
            self.book.account_key(_sym(isolated_symbol)), asset, value))

    async def repay(self, asset: str, amount: Decimal, isolated_symbol: str | None = None) -> int:
        value = _dec(amount)
        return await self._run(lambda: self.book.repay(
            self.book.account_key(_sym(isolated_symbol)), asset, value))

    async def transfer(self, asset: str, amount: Decimal, from_account: str, to_account: str) -> int:
        value = _dec(amount)
        return await self._run(lambda: self.book.transfer(asset, value, from_account.upper(),
                                                            to_account.upper()))

    # ------------------------------------------------------------------ drills

    async def set_price(self, symbol: str, price: Decimal) -> None:
        value = _dec(price, "price")
        await self._run(lambda: self.book.set_prices({symbol.upper(): value}))

    async def set_prices(self, prices: dict[str, Decimal]) -> None:
        values = {s.upper(): _dec(p, "price") for s, p in prices.items()}
        await self._run(lambda: self.book.set_prices(values))

    async def advance(self, seconds: int) -> datetime:
        ms = round(_dec(seconds, "seconds") * 1000)
        if ms < 0:
            raise ValueError("the paper clock only moves forward")
        def advance() -> datetime:
            self.book.advance_ms(ms)
            return ms_to_dt(self.book.now_ms)

        return await self._run(advance)


async def open_exchange(engine: Engine, desk: DeskConfig, settings: Settings) -> PaperExchange:
    """The adapter entry point `chatbot.runtime` looks up by name (`CHATBOT_EXCHANGE=paper`)."""
    return await PaperExchange.open(engine, desk.paper)
