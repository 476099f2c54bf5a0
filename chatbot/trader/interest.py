"""`/interest` done right: every margin account (cross and each isolated pair), per asset in its own units.

Why it exists: interest is charged per asset; a sum of BTC and USDT means nothing, so each asset shows
its loan, what is accrued, what was charged in the window and what a day costs, in its units, with the
USDT value only where values are added up. "Charged in the last day" is computed exactly as the daily
summary computes it (`chatbot.alerts.summary.charged_by_asset`, the same window), so the two agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from chatbot import margin
from chatbot.alerts.summary import charged_by_asset
from chatbot.display import num
from chatbot.exchange import AccountSnapshot, InterestRecord, account_label
from chatbot.money import fmt
from chatbot.replies import Reply, Table

D0 = Decimal(0)


def interest_reply(parts: list[tuple[AccountSnapshot, dict[str, Decimal], list[InterestRecord]]], asset: str | None,
                   days: int, now: datetime) -> Reply:
    start = now - timedelta(days=days)
    rows: list[tuple[str, ...]] = []
    fields: list[tuple[str, str]] = []
    for snap, rates, history in parts:
        charged = charged_by_asset(history, start, now)
        names = sorted({b.asset for b in snap.assets if b.borrowed or b.interest} | set(charged))
        names = [n for n in names if asset is None or n == asset]
        if not names:
            continue
        label = account_label(snap.isolated_symbol)
        day_value = D0
        charged_value = D0
        for name in names:
            bal = snap.asset(name)
            per_day = margin.interest_per_day(bal.borrowed, rates.get(name, D0))
            price = snap.prices.get(name, D0)
            day_value += per_day * price
            charged_value += charged.get(name, D0) * price
            rows.append((f"{name}*" if snap.isolated_symbol else name, num(bal.borrowed, 8), num(bal.interest, 8),
                         num(charged.get(name, D0), 8), num(per_day, 8)))
        fields.append((f"Charged {days} d, {label}", f"{fmt(charged_value, 4)} USDT"))
        fields.append((f"Per day now, {label}", f"{fmt(day_value, 2)} USDT at today's rates"))
    if not rows:
        what = asset or "any asset"
        return Reply(title=f"No loans or interest in {what} in the last {days} d.")
    isolated = [snap.isolated_symbol for snap, _, _ in parts if snap.isolated_symbol]
    legend = "Amounts in each asset's own units" + (f"; * isolated ({', '.join(isolated)})." if isolated else ".")
    return Reply(title=f"Interest — last {days} d", fields=tuple(fields),
                 table=Table(("Asset", "Loan", "Accrued", f"Paid {days}d", "Per day"), tuple(rows)),
                 lines=(legend,))



