"""How fast the paper exchange keeps its books: a long clock advance, price ticks over many accounts.

Figures (best and median of a few runs, wall time):
  interest  a 30-day `advance` with 20 open loans = 14,400 hourly charges (target < 250 ms), as
            engine only, the one-transaction write of its journal (SQLite file), and end to end
            through `PaperExchange.advance` (engine + SQLite).
  tick      one price tick moving every symbol, revaluing N isolated accounts that all carry debt
            (bands, liquidation checks; no band changes), N = 100 / 1,000 / 5,000 (target < 50 ms at
            1,000). Engine only; the write that follows (state row only, since no band changed)
            is reported separately.
  assets    the same tick for one cross account holding k assets, all borrowed (k = 2 / 10 / 50).
  status    `account()` (what /status reads), p50 and p99 over 2,000 calls.

    .venv/bin/python -m benchmarks.paper_bench [--runs 5] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.paper import PaperBook, PaperExchange, create_tables
from adapters.paper.store import PaperStore
from benchmarks.common import paper_config, paper_symbols, pct
from benchmarks.scoreboard import Figure, Figures
from chatbot.exchange import CROSS, SPOT, OrderRequest, OrderType, Side, isolated_account
from chatbot.store.db import make_engine

D = Decimal
DAY_MS = 86_400_000


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _fmt(seconds: list[float]) -> str:
    return f"best {min(seconds) * 1000:8.2f} ms   median {statistics.median(seconds) * 1000:8.2f} ms"


# ---------------------------------------------------------------------------- 30-day advance


def _cross_with_loans(n_loans: int, prefix: str = "L", usdt: str = "10000000", each: str = "1000") -> PaperBook:
    """One cross account holding `usdt` USDT that borrowed `each` of `n_loans` assets."""
    symbols = paper_symbols(n_loans, prefix)
    core = PaperBook(paper_config(symbols, cross={"USDT": usdt}))
    core.seed()
    for info in list(core.symbols.values()):
        core.borrow(CROSS, info.base, D(each))
    core.take_journal()
    return core


def bench_interest(runs: int) -> list[float]:
    print("30-day advance, 20 open loans (20 assets borrowed in cross) = 14,400 hourly charges")
    engine_t, write_t, total_t = [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            db = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            create_tables(db)
            store = PaperStore(db)
            core = _cross_with_loans(20)
            store.write(core, core.take_journal(), everything=True, revision=1)
            engine_t.append(_timed(lambda core=core: core.advance_ms(30 * DAY_MS)))
            journal = core.take_journal()
            assert len(journal.interest) == 14_400, len(journal.interest)
            write_t.append(_timed(lambda c=core, j=journal, st=store: st.write(c, j, revision=2)))
            db.dispose()
        total_t.append(_end_to_end_advance())
    print(f"  engine only           {_fmt(engine_t)}")
    print(f"  write (SQLite, 1 tx)  {_fmt(write_t)}   (14,400 interest rows + 20 balances + state)")
    print(f"  PaperExchange.advance {_fmt(total_t)}   (engine + write + events)")
    print(f"  per charge (engine)   {min(engine_t) / 14_400 * 1e6:8.2f} µs")
    return total_t


def _end_to_end_advance() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        db = make_engine(f"sqlite:///{Path(tmp) / 'e2e.db'}")
        create_tables(db)
        symbols = paper_symbols(20, "L")
        ex = PaperExchange.open_sync(db, paper_config(symbols, cross={"USDT": "10000000"}))

        async def go() -> float:
            for sym in symbols.values():
                await ex.borrow(sym["base"], D("1000"))
            start = time.perf_counter()
            await ex.advance(30 * 86_400)
            return time.perf_counter() - start

        elapsed = asyncio.run(go())
        db.dispose()
        return elapsed


# ---------------------------------------------------------------------------- price ticks


def _isolated_book(n: int) -> PaperBook:
    symbols = paper_symbols(n, "S")
    core = PaperBook(paper_config(symbols, spot={"USDT": str(1000 * n)}))
    core.seed()
    for sym in list(core.symbols):
        core.transfer("USDT", D("1000"), SPOT, isolated_account(sym))
        core.borrow(isolated_account(sym), "USDT", D("3000"))
        core.place_order(OrderRequest(sym, Side.BUY, OrderType.MARKET, quantity=D("30"), isolated=True))
    core.take_journal()
    assert len(core.debtors) == n
    return core


def _tick(core: PaperBook, factor: Decimal) -> dict[str, Decimal]:
    return {s: p * factor for s, p in core.prices.items()}


def bench_ticks(runs: int, sizes: list[int]) -> None:
    print("price tick: every symbol moves ±0.1%, N isolated accounts with debt are revalued")
    for n in sizes:
        core = _isolated_book(n)
        times: list[float] = []
        writes: list[float] = []
        with tempfile.TemporaryDirectory() as tmp:
            db = make_engine(f"sqlite:///{Path(tmp) / 'tick.db'}")
            create_tables(db)
            store = PaperStore(db)
            store.write(core, core.take_journal(), everything=True, revision=1)
            for i in range(max(runs, 5)):
                updates = _tick(core, D("1.001") if i % 2 == 0 else D("0.999"))
                times.append(_timed(lambda u=updates, c=core: c.set_prices(u)))
                journal = core.take_journal()
                assert not journal.accounts and not journal.liquidations  # no band change, no liquidation
                writes.append(_timed(lambda j=journal, c=core, st=store, r=i + 2: st.write(c, j, revision=r)))
            db.dispose()
        per = statistics.median(times) / n * 1e6
        print(f"  N={n:5d}  engine {_fmt(times)}   ({per:5.1f} µs/account)   write {min(writes) * 1000:6.2f} ms")


def bench_assets(runs: int, ks: list[int]) -> None:
    print("price tick: one cross account holding k assets, all of them borrowed")
    for k in ks:
        core = _cross_with_loans(k, "C", usdt="100000000", each="10")
        times = []
        for i in range(max(runs, 5) * 20):
            updates = _tick(core, D("1.001") if i % 2 == 0 else D("0.999"))
            times.append(_timed(lambda u=updates, c=core: c.set_prices(u)))
            core.take_journal()
        level = []
        acct = core.accounts[CROSS]
        for _ in range(200):
            level.append(_timed(lambda c=core, a=acct: c.level(a)))
        print(f"  k={k:3d}  tick {_fmt(times)}   revalue one account {statistics.median(level) * 1e6:6.1f} µs")


def bench_status() -> None:
    core = _cross_with_loans(3)
    samples = [_timed(lambda: core.snapshot(None)) for _ in range(2000)]
    print(f"account() snapshot (cross, 4 assets): p50 {pct(samples, 0.5) * 1000:.1f} µs, "
          f"p99 {pct(samples, 0.99) * 1000:.1f} µs")


def run(runs: int, quick: bool) -> Figures:
    total = bench_interest(runs)
    bench_ticks(runs, [100, 1000] if quick else [100, 1000, 5000])
    bench_assets(runs, [2, 10, 50])
    bench_status()
    return {"paper.advance": Figure(statistics.median(total) * 1000,
                                    f"median of {len(total)} (best {min(total) * 1000:.0f} ms), SQLite file")}


def scoreboard() -> Figures:
    return run(5, quick=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = parser.parse_args()
    run(args.runs, args.quick)


if __name__ == "__main__":
    main()
