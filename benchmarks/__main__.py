"""`make bench`: run every benchmark once with its default sizes and print the figures."""

from __future__ import annotations

import runpy
import sys

BENCHMARKS = ("core_bench", "alerts_bench", "paper_bench", "telegram_bench", "discord_bench", "binance_bench")

for name in BENCHMARKS:
    print(f"\n== benchmarks.{name}", flush=True)
    sys.argv = [name]
    runpy.run_module(f"benchmarks.{name}", run_name="__main__")
