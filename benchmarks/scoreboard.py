"""The performance targets and the table `make bench` ends with: each target, its figure, MET or MISSED by how much.

Why it exists: the benchmarks each printed their own figures in their own words, with targets
scattered in their docstrings; nobody could see at a glance which goals are met. Every target is
listed here once (`TARGETS`); a benchmark's `scoreboard()` returns `Figure`s keyed by a target's key,
and `render` prints every target, measured or not (a target no benchmark answered reads "not
measured" with the reason). Ratios are measured side by side in one run (A and B interleaved);
absolute times are for the record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    key: str
    measure: str
    limit: float
    unit: str  # "ms", "x" (a ratio) or "" (a count)
    at_least: bool = False  # the figure must be >= limit (else <=)

    def text(self) -> str:
        return f"{'≥' if self.at_least else '≤'} {self.limit:g}{' ' if self.unit == 'ms' else ''}{self.unit}"


@dataclass(frozen=True)
class Figure:
    """A measured value in the target's unit, how it was taken (`detail`), or why it was not (`skipped`)."""

    value: float | None
    detail: str = ""
    skipped: str | None = None


Figures = dict[str, Figure]

TARGETS: tuple[Target, ...] = (
    Target("core.sqlite", "/borrow → /confirm in process, SQLite, p99", 10, "ms"),
    Target("core.postgres", "same on PostgreSQL (local server), p99", 15, "ms"),
    Target("telegram.ratio", "Telegram /status round trip vs bare PTB echo bot, median", 1.2, "x"),
    Target("load.ratio", "500 members, 80% /status 20% borrow+confirm: throughput vs bare echo bot", 0.6, "x",
           at_least=True),
    Target("load.errors", "  … requests without the expected reply (our bot)", 0, ""),
    Target("load.lag", "  … event-loop lag p99 during our run", 5, "ms"),
    Target("alerts.cycle", "monitor cycle over 10,000 accounts", 200, "ms"),
    Target("paper.advance", "30-day paper advance with 20 loans, end to end", 250, "ms"),
    Target("console.ratio", "one-shot `chatbot console` /status vs bare import of its libraries", 1.15, "x"),
)


def _fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:g}"


def verdict(target: Target, value: float) -> str:
    """MET, or MISSED by how much (in the target's unit, and relative to the target when it is not 0)."""
    if math.isnan(value):
        return "not measured"
    ok = value >= target.limit if target.at_least else value <= target.limit
    if ok:
        return "MET"
    gap = target.limit - value if target.at_least else value - target.limit
    rel = f", {gap / target.limit:.0%} {'short' if target.at_least else 'over'}" if target.limit else ""
    return f"MISSED by {_fmt(gap, target.unit)}{rel}"


def render(figures: Figures, notes: dict[str, str] | None = None) -> str:
    """The scoreboard: one line per target (plus a detail line where the benchmark gave one)."""
    width = max(len(t.measure) for t in TARGETS)
    lines = [f"{'measure':<{width}}  {'figure':>10}  {'target':>9}  verdict", "-" * (width + 45)]
    met = 0
    for t in TARGETS:
        fig = figures.get(t.key)
        if fig is None or fig.value is None:
            why = (fig.skipped if fig is not None and fig.skipped else (notes or {}).get(t.key, "not run"))
            lines.append(f"{t.measure:<{width}}  {'—':>10}  {t.text():>9}  not measured: {why}")
            continue
        v = verdict(t, fig.value)
        met += v == "MET"
        lines.append(f"{t.measure:<{width}}  {_fmt(fig.value, t.unit):>10}  {t.text():>9}  {v}")
        if fig.detail:
            lines.append(f"{'':<{width}}    {fig.detail}")
    lines.append(f"{met} of {len(TARGETS)} targets met")
    return "\n".join(lines)
