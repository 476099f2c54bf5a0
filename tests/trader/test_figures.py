"""Figures a phone can read, quotes for everyone, interest done right, and alerts that only suggest what can be
done: ∞ only without debt, no repay of more than is free, no "margin call at +7 %" when already in it, and the
exact /transfer that would add the collateral."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chatbot.alerts.monitor import ways_back
from chatbot.alerts.summary import InterestSummarizer
from chatbot.commands.handlers.drills import crossed
from chatbot.commands.views import distance_lines
from chatbot.exchange import AccountSnapshot, AssetBalance
from chatbot.flows.pending import VISIBLE_STATES
from chatbot.margin import Band, Thresholds
from chatbot.replies import Notice, Severity
from tests.core.desk import DeskUnderTest, open_desk
from tests.trader.desk import TWO_PAIRS

D = Decimal


@pytest.fixture
async def desk(db_url: str) -> AsyncIterator[DeskUnderTest]:
    d = await open_desk(db_url, paper=TWO_PAIRS)
    yield d
    await d.close()


async def test_no_debt_infinity_only_without_debt(desk: DeskUnderTest) -> None:
    status = await desk.console("/status\n/borrow USDT 10\n/confirm\n/status\n", "carol")
    first, _, after = status.partition("Done [")
    assert "Margin level: ∞ (no debt) — EXCESSIVE" in first
    assert "∞ (no debt)" not in after.split("Status — cross margin", 1)[1], after
    assert "Margin level: 2000.9799 — EXCESSIVE" in after, after  # 20,010 / 10.0001 owed


async def test_price_quotes_for_everyone_and_the_drill_stays_the_admins(desk: DeskUnderTest) -> None:
    assert (await desk.say("dave", "/price BTCUSDT")).title == "BTCUSDT 35,000.00"
    assert "needs the admin role" in (await desk.say("carol", "/price BTCUSDT 30000")).title
    stale = await desk.say("alice", "/price BTCUSDT 30000", edited=True)
    assert "Edited messages never trigger actions" in stale.title
    assert (await desk.say("alice", "/price BTCUSDT 30000")).title == "Paper price BTCUSDT = 30,000.00."
    desk.core.services.paper = False  # a live desk: the drill is refused, the quote still works
    assert "paper-exchange drill" in (await desk.say("alice", "/price BTCUSDT 31000")).title
    assert (await desk.say("dave", "/price ETHUSDT")).title == "ETHUSDT 2,000.00"


async def test_help_is_grouped_by_task_with_one_example_each(desk: DeskUnderTest) -> None:
    reply = await desk.say("carol", "/help")
    assert reply.lines[0] == "See the account:" and "  /positions — " in reply.lines[2]
    assert "Trade:" in reply.lines and "  /transfer USDT 500 spot cross — " in "\n".join(reply.lines)
    assert not any("/halt" in line for line in reply.lines)  # a trader's help holds a trader's commands
    detail = await desk.say("carol", "/help transfer")
    assert detail.title == "/transfer ASSET AMOUNT FROM TO" and "e.g. /transfer USDT 500 spot cross" in detail.lines


async def test_bad_close_input_is_one_line_and_changes_nothing(desk: DeskUnderTest) -> None:
    for text, why in (("/close BTCUSDT 150%", "QTY 150% must be a percentage up to 100% with at most 2 decimals."),
                      ("/close BTCUSDT 0.123456", "QTY 0.123456 has more than 5 decimals."),
                      ("/close BTCUSDT 50%", "No BTC position to close in this account.")):
        reply = await desk.say("carol", text)
        assert reply.severity is Severity.ERROR and reply.title == why, reply.text()
    await desk.console("/long BTCUSDT 0.5\n/confirm\n", "carol")
    whole = await desk.say("carol", "/close BTCUSDT 0.5")
    assert whole.title == "The position is 0.5 BTC; close it all with /close BTCUSDT.", whole.title
    assert desk.core.pending.open_actions(None, VISIBLE_STATES) == []


async def test_interest_per_account_and_asset_equals_the_daily_summary(desk: DeskUnderTest) -> None:
    await desk.console("/transfer USDT 1000 spot ETHUSDT\n/confirm\n/borrow ETH 0.2 ETHUSDT\n/confirm\n"
                       "/short BTCUSDT 0.1\n/confirm\n", "carol")
    out = await desk.console("/as alice\n/clock 24h\n", "carol")
    assert "Daily interest summary posted (cross, ETHUSDT)." in out, out
    interest = await desk.say("dave", "/interest")
    fields = dict(interest.fields)
    rows = {r[0]: r for r in interest.table.rows} if interest.table else {}
    assert set(rows) == {"BTC", "ETH*"}  # units per asset, isolated marked; never BTC + USDT added up
    assert rows["BTC"][3] == "0.000024" and rows["ETH*"][3] == "0.000048"  # 24 hourly charges in the last day, in units
    now = await desk.exchange.now()
    for key, symbol in (("cross", None), ("isolated ETHUSDT", "ETHUSDT")):
        built = await InterestSummarizer(desk.core.engine, desk.exchange, desk.core.notifier).build(symbol, now)
        assert built is not None
        summary, _ = built
        assert fields[f"Charged 1 d, {key}"] == dict(summary.fields)["Charged (24 h)"]


def test_the_summary_fires_when_the_paper_clock_crosses_its_time() -> None:
    at = datetime(2024, 1, 1, 0, 0, tzinfo=UTC).time().replace(minute=5)
    start = datetime(2024, 1, 1, 0, 10, tzinfo=UTC)
    assert crossed(start, start + timedelta(hours=24), at)
    assert not crossed(start, start + timedelta(hours=23), at)
    assert crossed(start - timedelta(minutes=6), start, at)


def _snap(level_assets: Decimal, owed_usdt: Decimal, free_usdt: Decimal) -> AccountSnapshot:
    assets = (AssetBalance("USDT", free_usdt, D(0), owed_usdt, D(0)),
              AssetBalance("BTC", (level_assets - free_usdt) / 30000, D(0), D(0), D(0)))
    level = level_assets / owed_usdt
    t = Thresholds.cross()
    from chatbot.margin import band_for

    return AccountSnapshot(None, assets, {"USDT": D(1), "BTC": D(30000)}, level_assets, owed_usdt, level,
                           band_for(level, t), t, False, datetime(2024, 1, 1, tzinfo=UTC))


def test_alerts_suggest_only_what_can_be_done() -> None:
    snap = _snap(D(12500), D(10000), D(100))  # level 1.25: in margin call; only 100 USDT free
    back = ways_back(snap, D("1.55"))
    assert not any(b.startswith("repay") for b in back), back  # 2,727 USDT would be needed; 100 is free
    assert back == ["add 3,000.00 USDT of collateral"]
    assert ways_back(snap, D("1.55"), (("spot", D(2000)),)) == back  # spot cannot cover it: no command
    funded = ways_back(snap, D("1.55"), (("spot", D(5000)),))
    assert funded == ["add collateral: /transfer USDT 3000.00 spot cross"]
    lines = dict(distance_lines(snap))
    assert lines["Margin call"].startswith("now (margin level 1.25"), lines
    assert snap.band == Band.MARGIN_CALL


async def test_a_margin_alert_names_the_transfer_that_adds_the_collateral(desk: DeskUnderTest) -> None:
    sent: list[str] = []

    async def deliver(notice: Notice) -> int:
        sent.append(notice.reply.text())
        return 1

    desk.core.notifier.publish = deliver  # type: ignore[method-assign]
    await desk.console("/short BTCUSDT 1\n/confirm\n", "carol")
    await desk.say("alice", "/price BTCUSDT 38000")
    (alert,) = [s for s in sent if "LOW MARGIN" in s]
    assert "Quickest ways back: add collateral: /transfer USDT 3900.59 spot cross" in alert, alert
    assert "repay" not in alert  # no BTC is free: a repay is impossible, so it is not suggested
    pid = (await desk.say("carol", "/transfer USDT 3900.59 spot cross")).ref
    assert (await desk.say("carol", f"/confirm {pid}")).title.startswith("Done")
    assert (await desk.exchange.account(None)).margin_level > D("1.55")
