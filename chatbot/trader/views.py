"""The trader's replies: positions, P&L, balances, open orders, quotes — short lines a phone can read.

Why it exists: the handlers gather state (accounts, the fills ledger, records); these pure functions
turn it into `Reply`s. Figures are rounded here only (`chatbot.display`), each appears once, and
tables keep to four narrow columns (the Telegram renderer turns anything wider than a phone into lines).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from chatbot import margin
from chatbot.display import amount, num, pct, price, signed_usdt, usdt
from chatbot.exchange import AccountSnapshot, Order, account_label
from chatbot.plans import book_of, price_at_level
from chatbot.pnl import Book, Ledger, by_day
from chatbot.replies import Reply, Table
from chatbot.trader.book import Accounts
from chatbot.trader.tables import DeskEquity

D0 = Decimal(0)
QUOTE = "USDT"


def bar_text(snap: AccountSnapshot, asset: str, bar: Decimal) -> str:
    """Where the account meets a bar: the asset's price and the move to it, or "now" when it is already there."""
    if snap.total_liability_value > 0 and snap.margin_level <= bar:
        return "now (already below)"
    found = price_at_level(book_of(snap), snap.prices, asset, bar)
    mark = snap.prices.get(asset, D0)
    if found <= 0 or mark <= 0:
        return f"not by {asset}'s price alone"
    return f"{price(found)} ({pct((found - mark) / mark * 100)})"


def interest_day(snap: AccountSnapshot, rates: dict[str, Decimal]) -> str:
    parts = []
    for b in snap.assets:
        if b.borrowed > 0:
            units = margin.interest_per_day(b.borrowed, rates.get(b.asset, D0))
            value = "" if b.asset == QUOTE else f" ({usdt(units * snap.prices.get(b.asset, D0))})"
            parts.append(f"{amount(units, b.asset)}{value}")
    return ", ".join(parts) if parts else "none (no loans)"


def _position_lines(key: str, snap: AccountSnapshot, book: Book | None, asset: str) -> list[str]:
    bal = snap.asset(asset)
    net = bal.net
    mark = snap.prices.get(asset, D0)
    side = "long" if net > 0 else "short" if net < 0 else "flat"
    out = [f"{account_label(snap.isolated_symbol)} · {asset} {side} {amount(abs(net), asset)}"]
    if book is not None and book.entry is not None:
        out.append(f"  Entry {price(book.entry)} · mark {price(mark)}")
        change = book.unrealized_pct(mark)
        out.append(f"  P&L {signed_usdt(book.unrealized(mark))}" + (f" ({pct(change)})" if change is not None else ""))
    else:
        out.append(f"  Mark {price(mark)} · entry unknown (no fills)")
    if snap.total_liability_value > 0:
        out.append(f"  Margin call {bar_text(snap, asset, snap.thresholds.margin_call)}")
        out.append(f"  Liquidation {bar_text(snap, asset, snap.thresholds.liquidation)}")
    return out


def positions_reply(accounts: Accounts, ledger: Ledger, rates: dict[str, dict[str, Decimal]],
                    symbol: str | None, bases: dict[str, str]) -> Reply:
    """`bases`: pair → base asset (to filter by SYMBOL)."""
    lines: list[str] = []
    for key, snap in accounts.snapshots.items():
        assets = [b.asset for b in snap.assets if b.asset != QUOTE and (b.total or b.liability)]
        assets += [bk.asset for (acct, _), bk in ledger.books.items() if acct == key and bk.qty and
                   bk.asset not in assets]
        if symbol is not None:
            assets = [a for a in assets if a == bases.get(symbol)]
        if not assets:
            continue
        for asset in assets:
            lines += _position_lines(key, snap, ledger.books.get((key, asset)), asset)
        lines.append(f"  Interest/day {interest_day(snap, rates.get(key, {}))}")
    if not lines:
        return Reply(title="No open positions.", lines=("Open one with /long or /short; see /balance.",))
    return Reply(title="Positions", lines=tuple(lines))


def pnl_reply(days: int, now: datetime, start: datetime, accounts: Accounts, ledger: Ledger,
              equity_start: DeskEquity | None, transfers_in: Decimal) -> Reply:
    marks = accounts.marks()
    rows = by_day(ledger.realized, start, datetime.max.replace(tzinfo=now.tzinfo))
    trading = sum((d.trading for d in rows), D0)
    fees = sum((d.fees for d in rows), D0)
    interest = sum((d.interest for d in rows), D0)
    fields = []
    if equity_start is not None:
        fields.append(("Equity at start", f"{usdt(equity_start.equity)} ({equity_start.at:%m-%d %H:%M})"))
    fields += [("Trading (realized)", signed_usdt(trading)), ("Fees", usdt(fees)), ("Interest", usdt(interest)),
               ("Realized net", signed_usdt(trading - fees - interest)),
               ("Unrealized", signed_usdt(ledger.unrealized(marks)))]
    owed = [b for b in ledger.books.values() if b.interest_units > 0]
    if owed:
        fields.append(("Interest owed", ", ".join(
            f"{amount(b.interest_units, b.asset)} ({usdt(b.interest_units * marks.get(b.asset, D0))})" for b in owed)))
    if transfers_in:
        fields.append(("Transfers in", signed_usdt(transfers_in)))
    fields.append(("Equity now", usdt(accounts.equity)))
    table = Table(("Day", "Trading", "Fees", "Interest"),
                  tuple((f"{d.day:%m-%d}", signed_usdt(d.trading)[:-5], num(d.fees, 2), num(d.interest, 2))
                        for d in rows)) if rows else None
    return Reply(title=f"P&L — last {days} d (USDT)", fields=tuple(fields), table=table,
                 lines=() if rows else ("Nothing realized in this window.",))


def balance_reply(accounts: Accounts, spot: dict[str, Decimal], marks: dict[str, Decimal]) -> Reply:
    rows = []
    spot_value = sum((v * (Decimal(1) if a == QUOTE else marks.get(a, D0)) for a, v in spot.items()), D0)
    unpriced = [amount(v, a) for a, v in spot.items() if a != QUOTE and a not in marks]
    rows.append(("spot", num(spot_value, 2), "0.00", num(spot_value, 2)))
    for key, snap in accounts.snapshots.items():
        rows.append((key, num(snap.total_asset_value, 2), num(snap.total_liability_value, 2),
                     num(snap.net_value, 2)))
    total = spot_value + accounts.equity
    lines = [f"Spot also holds {', '.join(unpriced)} (no price)."] if unpriced else []
    return Reply(title=f"Balances — net {usdt(total)}", table=Table(("Account", "Assets", "Owed", "Net"), tuple(rows)),
                 lines=tuple(lines))


def orders_reply(orders: list[Order], owners: dict[str, str]) -> Reply:
    if not orders:
        return Reply(title="No open orders.", lines=("Place one with /order or /oco.",))
    lines = []
    for o in orders:
        at = o.price if o.type.value in ("LIMIT", "LIMIT_MAKER") or o.stop_price == 0 else o.stop_price
        kind = o.type.value.replace("_", " ").lower() + (" (OCO)" if o.order_list_id != -1 else "")
        where = f"isolated {o.symbol}" if o.isolated else "cross"
        by = owners.get(o.client_order_id) or owners.get(list_key(o.symbol, o.isolated, o.order_list_id)) \
            or "outside the desk"
        lines.append(f"#{o.order_id} {o.side.value} {num(o.orig_qty, 8)} {o.symbol} {kind} @ {price(at)}")
        lines.append(f"  {where} · by {by}")
    return Reply(title=f"Open orders ({len(orders)})", lines=tuple(lines),
                 fields=(("Cancel", "/cancelorder ID"),))


def list_key(symbol: str, isolated: bool, list_id: int) -> str:
    """An OCO list in `orders_reply`'s owners: list ids repeat across pairs and accounts."""
    return f"list:{symbol}:{'isolated' if isolated else 'cross'}:{list_id}"


def quote_reply(symbol: str, now_price: Decimal, change: Decimal | None) -> Reply:
    tail = f" ({pct(change)} in 24 h)" if change is not None else ""
    return Reply(title=f"{symbol} {price(now_price)}{tail}")
