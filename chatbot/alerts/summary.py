"""The daily interest summary: what the desk paid yesterday, what it owes, what tomorrow will cost.

Posted once per account per UTC day (a unique row claims the day before anything is sent), so
restarts and missed runs catch up at most once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from chatbot import margin
from chatbot.alerts.tables import InterestSummary
from chatbot.exchange import Exchange, InterestRecord, account_key, account_label
from chatbot.money import fmt, fmt_amount
from chatbot.notify import Notifier
from chatbot.replies import Notice, Reply, Table
from chatbot.store.db import session_scope

D0 = Decimal(0)


def charged_by_asset(rows: list[InterestRecord], start: datetime, end: datetime) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for r in rows:
        if start <= r.time < end:
            out[r.asset] = out.get(r.asset, D0) + r.interest
    return out


class InterestSummarizer:
    def __init__(self, engine: Engine, exchange: Exchange, notifier: Notifier) -> None:
        self.engine = engine
        self.exchange = exchange
        self.notifier = notifier

    async def run(self) -> list[Notice]:
        now = await self.exchange.now()
        notices = []
        for symbol in [None, *await self.exchange.isolated_symbols()]:
            notice = await self.summarize(symbol, now)
            if notice is not None:
                notices.append(notice)
        return notices

    async def build(self, symbol: str | None, now: datetime) -> tuple[Reply, Decimal] | None:
        end = now
        start, before = end - timedelta(hours=24), end - timedelta(hours=48)
        rows = await self.exchange.interest_history(isolated_symbol=symbol, start=before, end=end)
        snap = await self.exchange.account(symbol)
        rates = await self.exchange.daily_interest_rates(symbol)
        last = charged_by_asset(rows, start, end)
        prior = charged_by_asset(rows, before, start)
        if not last and not any(b.liability for b in snap.assets):
            return None
        price = snap.prices
        total = sum((v * price.get(a, D0) for a, v in last.items()), D0)
        total_prior = sum((v * price.get(a, D0) for a, v in prior.items()), D0)
        assets = sorted(set(last) | {b.asset for b in snap.assets if b.liability})
        table_rows = []
        projected = D0
        for asset in assets:
            bal = snap.asset(asset)
            next_day = margin.interest_per_day(bal.borrowed, rates.get(asset, D0))
            projected += next_day * price.get(asset, D0)
            table_rows.append((asset, fmt_amount(last.get(asset, D0)), fmt(last.get(asset, D0) * price.get(asset, D0)),
                               fmt_amount(bal.borrowed), fmt_amount(bal.interest),
                               f"{rates.get(asset, D0) * 100:.4f}%", fmt_amount(next_day)))
        change = total - total_prior
        reply = Reply(
            title=f"Daily interest — {account_label(symbol)} margin, {start:%Y-%m-%d %H:%M} → {end:%H:%M} UTC",
            fields=(("Charged (24 h)", f"{fmt(total, 4)} USDT"),
                    ("Change from the day before", f"{'+' if change >= 0 else ''}{fmt(change, 4)} USDT"),
                    ("Projected next 24 h", f"{fmt(projected, 4)} USDT at current rates")),
            table=Table(("Asset", "Charged", "USDT", "Borrowed", "Accrued", "Daily rate", "Next 24 h"),
                        tuple(table_rows)),
        )
        return reply, total

    async def summarize(self, symbol: str | None, now: datetime) -> Notice | None:
        built = await self.build(symbol, now)
        if built is None:
            return None
        reply, total = built
        try:
            with session_scope(self.engine) as s:
                s.add(InterestSummary(account=account_key(symbol), day=now.date(), total_usdt=total, posted_at=now))
        except IntegrityError:
            return None  # already posted today
        notice = Notice("interest", reply, data={"account": account_key(symbol), "total_usdt": str(total)})
        await self.notifier.publish(notice)
        return notice
