"""The incident state machine: one fire, bounded repeats, one escalation, one resolve — no spam."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chatbot.alerts.incidents import AlertBand, Incident, Rules, alert_band, decide
from chatbot.margin import Thresholds

T = Thresholds.cross(3)
RULES = Rules(Decimal("1.5"), Decimal("0.05"), timedelta(minutes=30), timedelta(minutes=10))
START = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)


def run(levels: list[str], step: timedelta, ack_after: int | None = None) -> Counter[str]:
    current: Incident | None = None
    kinds: Counter[str] = Counter()
    for i, level in enumerate(levels):
        d = decide(current, "cross", Decimal(level), T, RULES, START + i * step)
        if d.kind:
            kinds[d.kind] += 1
        current = d.incident if d.kind != "resolve" else None
        if ack_after is not None and i == ack_after and current is not None:
            current = replace(current, acknowledged_by="carol")
    return kinds


def test_bands() -> None:
    assert alert_band(Decimal("1.6"), T, RULES.warn_level) is AlertBand.OK
    assert alert_band(Decimal("1.5"), T, RULES.warn_level) is AlertBand.WARN
    assert alert_band(Decimal("1.3"), T, RULES.warn_level) is AlertBand.MARGIN_CALL
    assert alert_band(Decimal("1.12"), T, RULES.warn_level) is AlertBand.PRE_LIQUIDATION
    assert alert_band(Decimal("1.1"), T, RULES.warn_level) is AlertBand.FORCE_LIQUIDATION


def test_oscillation_around_margin_call_bar_is_not_spam() -> None:
    path = ["2.0", "1.45"] + ["1.29", "1.31"] * 30 + ["1.52", "1.49", "1.56", "1.6"]
    kinds = run(path, timedelta(minutes=1), ack_after=3)
    # 64 one-minute samples: fire (warn), worse (margin call), at most 2 repeats in ~64 min, one resolve
    assert kinds["fire"] == 1
    assert kinds["worse"] == 1
    assert kinds["repeat"] <= 2
    assert kinds["resolve"] == 1
    assert kinds["escalate"] == 0  # acknowledged before escalate_after


def test_no_resolve_inside_hysteresis() -> None:
    kinds = run(["1.29", "1.52", "1.54", "1.51"], timedelta(minutes=1))
    assert kinds == Counter({"fire": 1})


def test_escalates_once_without_ack() -> None:
    kinds = run(["1.29"] * 25, timedelta(minutes=1))
    assert kinds["escalate"] == 1 and kinds["fire"] == 1


def test_worse_band_notifies_immediately() -> None:
    kinds = run(["1.45", "1.29", "1.12", "1.29"], timedelta(seconds=10))
    assert kinds == Counter({"fire": 1, "worse": 2})
