"""Read-only replies: status, interest, help, members, pending — rendered as platform-neutral `Reply`s.

Numbers are rounded here, for display only; everything before this point is exact Decimal.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from chatbot import margin
from chatbot.commands.registry import HELP_GROUPS, REGISTRY, CommandSpec, lookup, visible_to
from chatbot.display import amount, num, places
from chatbot.exchange import AccountSnapshot, InterestRecord, account_label
from chatbot.flows.pending import Pending
from chatbot.margin import Band
from chatbot.money import fmt, fmt_amount
from chatbot.plans import Plan, book_of, exposures, price_at_level
from chatbot.replies import Reply, Severity, Table
from chatbot.store.members import DeskMember

D0 = Decimal(0)
BAND_SEVERITY = {
    Band.EXCESSIVE: Severity.SUCCESS, Band.NORMAL: Severity.INFO, Band.MARGIN_CALL: Severity.WARNING,
    Band.PRE_LIQUIDATION: Severity.ERROR, Band.FORCE_LIQUIDATION: Severity.CRITICAL,
}


def a_role(role: str) -> str:
    """"an admin", "a trader", "a viewer"."""
    return f"an {role}" if role[:1] in "aeiou" else f"a {role}"


def fmt_level(level: Decimal, debt: bool | None = None) -> str:
    """Margin levels are rounded DOWN for display: 1.29992 shows as 1.2999, never as the 1.3 bar. "∞ (no
    debt)" only when nothing is owed (`debt` False; when unknown, Binance's 999 sentinel means no debt)."""
    if debt is False or (debt is None and level >= margin.NO_DEBT_LEVEL):
        return "∞ (no debt)"
    return str(level.quantize(Decimal("0.0001"), rounding=ROUND_DOWN))


def distance_lines(snap: AccountSnapshot, quote: str = "USDT") -> list[tuple[str, str]]:
    """Price of the main asset at the margin-call and liquidation bars, and how far away they are."""
    book = book_of(snap)
    main = margin.main_asset(exposures(book, snap.prices), quote)
    if main is None or snap.total_liability_value <= 0:
        return []
    now = snap.prices.get(main, D0)
    out = []
    for label, bar in (("Margin call", snap.thresholds.margin_call), ("Liquidation", snap.thresholds.liquidation)):
        if snap.margin_level <= bar:  # already there: no "at +7.59 %"
            out.append((label, f"now (margin level {fmt_level(snap.margin_level, True)} ≤ {bar})"))
            continue
        price = price_at_level(book, snap.prices, main, bar)
        if price > 0 and now > 0:
            move = (price - now) / now * 100
            out.append((f"{label} at", f"{main} {fmt(price)} ({'+' if move >= 0 else ''}{fmt(move)}%)"))
    return out


def status_reply(snap: AccountSnapshot, rates: dict[str, Decimal], max_borrow: dict[str, Decimal],
                 now: datetime) -> Reply:
    t = snap.thresholds
    fields = [
        ("Margin level", f"{fmt_level(snap.margin_level, snap.total_liability_value > 0)} — {snap.band.value}"),
        ("Bars", f"borrow > {t.initial}, margin call ≤ {t.margin_call}, liquidation ≤ {t.liquidation}"),
        *distance_lines(snap),
        ("Assets · owed · net", f"{fmt(snap.total_asset_value)} · {fmt(snap.total_liability_value)} · "
                                f"{fmt(snap.net_value)} USDT"),
    ]
    hourly = margin.hourly_interest_value({b.asset: b.borrowed for b in snap.assets}, rates, snap.prices)
    if hourly > 0:
        next_hour = (now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
        fields.append(("Next interest", f"{fmt(hourly, 4)} USDT at {next_hour:%H:%M} UTC"))
    if max_borrow:
        fields.append(("Max borrowable", ", ".join(amount(v, a) for a, v in sorted(max_borrow.items()))))
    if snap.locked:
        fields.append(("LOCKED", "liquidation in progress"))
    rows = tuple(
        (b.asset, num(b.total, places(b.asset)), num(b.liability, places(b.asset)), num(b.net, places(b.asset)))
        for b in snap.assets if b.free or b.locked or b.borrowed or b.interest
    )
    table = Table(("Asset", "Held", "Owed", "Net"), rows) if rows else None
    return Reply(title=f"Status — {account_label(snap.isolated_symbol)} margin", fields=tuple(fields),
                 table=table, severity=BAND_SEVERITY[snap.band])


def interest_reply(snap: AccountSnapshot, rates: dict[str, Decimal], history: list[InterestRecord],
                   asset: str | None, days: int) -> Reply:
    assets = [b for b in snap.assets if (asset is None or b.asset == asset) and (b.borrowed or b.interest)]
    rows = []
    hour_total = D0
    for b in assets:
        rate = rates.get(b.asset, D0)
        hour = margin.interest_for_hours(b.borrowed, rate)
        charged = sum((r.interest for r in history if r.asset == b.asset), D0)
        hour_total += hour * snap.prices.get(b.asset, D0)
        rows.append((b.asset, fmt_amount(b.borrowed), fmt_amount(b.interest), fmt_amount(charged),
                     fmt_amount(hour), fmt_amount(hour * 24), f"{rate * 100:.4f}%"))
    if not rows:
        what = asset or "any asset"
        return Reply(title=f"No loans in {what} ({account_label(snap.isolated_symbol)}).",
                     lines=(f"Interest charged in the last {days} d: "
                            f"{fmt_amount(sum((r.interest for r in history), D0))}",))
    return Reply(
        title=f"Interest — {account_label(snap.isolated_symbol)}, last {days} d",
        fields=(("Cost now", f"{fmt(hour_total, 4)} USDT/hour, {fmt(hour_total * 24, 2)} USDT/day"),
                ("Projected next 24 h", f"{fmt(hour_total * 24, 2)} USDT at today's rates")),
        table=Table(("Asset", "Borrowed", "Accrued", f"Charged {days}d", "Per hour", "Per day", "Daily rate"),
                    tuple(rows)),
    )


def plan_fields(plan: Plan) -> tuple[tuple[str, str], ...]:
    """A preview: each figure once (the exchange calls already say what is borrowed or moved)."""
    level = (f"{fmt_level(plan.ml_before, plan.debt_before)} → {fmt_level(plan.ml_after, plan.debt_after)}"
             f" ({plan.band_after.value})")
    fields = [
        *([] if plan.transfer else [("Margin level", level)]),  # a transfer names both sides in its details
        *plan.details,
        ("Notional", f"{fmt(plan.notional)} USDT"),
    ]
    if plan.new_borrow and plan.borrow is None:
        fields.append(("Borrows", ", ".join(amount(v, a) for a, v in plan.new_borrow.items())))
    if plan.liquidation_price_after > 0 and plan.main_asset:
        fields.append(("Liquidation price after", f"{plan.main_asset} {fmt(plan.liquidation_price_after)}"))
    if plan.borrowed_after and plan.borrowed_after != plan.new_borrow:
        fields.append(("Borrowed after", ", ".join(amount(v, a) for a, v in plan.borrowed_after.items())))
    if plan.borrowed_after:
        fields.append(("Interest", f"{fmt(plan.interest_hour, 4)} USDT/hour, {fmt(plan.interest_day)} USDT/day"))
    if plan.leverage_after is not None:
        fields.append(("Leverage after", f"{fmt(plan.leverage_after)}x"))
    return tuple(fields)


def help_reply(member: DeskMember, platform: str, paper: bool, command: str | None) -> Reply:
    if command:
        spec: CommandSpec | None = lookup(command.lstrip("/"))
        if spec is None:
            return Reply(title=f"Unknown command /{command}.", lines=("Try /help",), severity=Severity.ERROR)
        return Reply(title=spec.usage, lines=(spec.summary, f"e.g. {spec.example}", f"Role: {spec.role}"))
    visible = {s.name for s in visible_to(member.role, platform=platform, paper=paper)}
    lines: list[str] = []
    for title, names in HELP_GROUPS:
        shown = [REGISTRY[n] for n in names if n in visible]
        if shown:
            lines.append(f"{title}:")
            lines += [f"  {s.example.split('  or  ')[0]} — {s.summary}" for s in shown]
    return Reply(title=f"Commands for {member.name} ({member.role})", lines=tuple(lines),
                 fields=(("More", "/help COMMAND (e.g. /help close)"),))


def members_reply(members: list[DeskMember]) -> Reply:
    rows = tuple((m.name, m.role, str(m.telegram_id or "-"), str(m.discord_id or "-"), m.source) for m in members)
    return Reply(title=f"Desk members ({len(members)})",
                 table=Table(("Name", "Role", "Telegram", "Discord", "From"), rows))


def pending_reply(items: list[Pending], now: datetime) -> Reply:
    if not items:
        return Reply(title="Nothing pending.")
    rows = []
    for p in items:
        left = max(0, int((p.expires_at - now).total_seconds()))
        what = p.state.replace("awaiting_", "")
        rows.append((p.short_id, p.requester, describe(p), what,
                     "running" if p.state == "executing" else f"{left}s"))
    notes = tuple(f"[{p.short_id}] {p.note}" for p in items if p.state == "executing" and p.note)
    return Reply(title=f"Pending ({len(items)})", lines=notes,
                 table=Table(("Id", "By", "What", "Waiting for", "Expires"), tuple(rows)))


def describe(p: Pending) -> str:
    a = p.params
    if p.command == "borrow":
        text = f"borrow {a['amount']} {a['asset']}"
    elif p.command == "repay":
        text = f"repay {a['amount']} {a['asset']}"
    elif p.command in ("long", "short"):
        text = f"{p.command} {a['qty']} {a['symbol']}"
    elif p.command == "close":
        text = f"close {a['qty']} of {a['symbol']}" if a.get("qty") else f"close {a['symbol']}"
    elif p.command == "transfer":
        return f"transfer {a['amount']} {a['asset']} {_wallet(a['source'])} → {_wallet(a['target'])}"
    elif p.command == "order":
        text = f"{a['type']} {a['side']} {a['qty']} {a['symbol']} @ {a['price']}"
    elif p.command == "oco":
        text = f"OCO {a['side']} {a['qty']} {a['symbol']} tp {a['tp']} / stop {a['stop']}"
    elif p.command == "cancelorder":
        return f"cancel order {a['id']}"
    elif p.command == "grant":
        ids = ", ".join(f"{k.removesuffix('_id')}:{v}" for k, v in a.items() if k.endswith("_id") and v)
        return f"grant {a['name']} {a['role']}" + (f" ({ids})" if ids else "")
    elif p.command == "setpolicy":
        return f"set policy {a['key']} = {a['value']}"
    else:
        return p.command
    account = a.get("symbol") if a.get("isolated") is True or (p.command in ("borrow", "repay") and a.get("symbol")) \
        else None
    return f"{text} ({account_label(account)})"


def _wallet(name: str) -> str:
    return name.lower() if name.lower() in ("spot", "cross") else f"isolated {name.upper()}"


def exact(p: Pending) -> str:
    """Every parameter of a request, exactly as it will run."""
    return f"/{p.command} " + " ".join(f"{k}={v}" for k, v in sorted(p.params.items()) if v not in (None, False, ""))


def preview_fields(preview: dict[str, str]) -> list[tuple[str, str]]:
    """A stored preview, as the approver sees it (what the requester was shown)."""
    fields = [("Margin level", f"{fmt_level(Decimal(preview['ml_before']))} → {fmt_level(Decimal(preview['ml_after']))}"
                               f" ({preview['band_after']})"),
              ("Notional", f"{fmt(Decimal(preview['notional']))} USDT")]
    if Decimal(preview.get("liquidation_price_after", "0")) > 0 and preview.get("main_asset"):
        fields.append(("Liquidation price after",
                       f"{preview['main_asset']} {fmt(Decimal(preview['liquidation_price_after']))}"))
    if preview.get("leverage_after"):
        fields.append(("Leverage after", f"{fmt(Decimal(preview['leverage_after']))}x"))
    return fields
