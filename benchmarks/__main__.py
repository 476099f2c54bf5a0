"""`make bench`: run every benchmark once with its default sizes, print its figures, then the scoreboard.

A benchmark with a `scoreboard()` returns its figures for the targets of benchmarks/scoreboard.py;
the others (Discord, Binance) only print theirs. One that fails prints its traceback, and its
targets read "not measured" with the error; the rest still run.
"""

from __future__ import annotations

import importlib
import runpy
import sys
import time
import traceback

from benchmarks.scoreboard import TARGETS, Figures, render

BENCHMARKS = ("core_bench", "alerts_bench", "paper_bench", "telegram_bench", "load_bench", "console_bench",
              "discord_bench", "binance_bench")
OWNS = {"core_bench": "core.", "alerts_bench": "alerts.", "paper_bench": "paper.", "telegram_bench": "telegram.",
        "load_bench": "load.", "console_bench": "console."}  # which targets each benchmark answers


def main() -> None:
    figures: Figures = {}
    notes: dict[str, str] = {}
    started = time.perf_counter()
    for name in BENCHMARKS:
        print(f"\n== benchmarks.{name}", flush=True)
        t0 = time.perf_counter()
        try:
            if name in OWNS:
                figures.update(importlib.import_module(f"benchmarks.{name}").scoreboard())
            else:
                sys.argv = [name]
                runpy.run_module(f"benchmarks.{name}", run_name="__main__")
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            for t in TARGETS:
                if name in OWNS and t.key.startswith(OWNS[name]):
                    notes[t.key] = f"benchmarks.{name} failed: {type(exc).__name__}: {exc}"[:200]
        print(f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"\n== scoreboard ({time.perf_counter() - started:.0f} s in all)\n")
    print(render(figures, notes))


main()
