"""The margin monitor: values every margin account, decides incidents, and tells the right people.

Runs on a schedule (every `monitor_interval_seconds`) and immediately on every exchange event
(paper price ticks, fills, liquidations). Each alert says where the account stands, what price
move reaches the next bar and liquidation, the biggest liabilities, and the quickest ways back.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from decimal import Decimal

from chatbot.alerts.incidents import AlertBand, Decision, Incident, IncidentStore, Rules, decide
from chatbot.commands.views import account_name, distance_lines, fmt_level
from chatbot.config import AlertsConfig
from chatbot.exchange import AccountSnapshot, Exchange, ExchangeEvent
from chatbot.money import fmt, fmt_amount
from chatbot.notify import Notifier
from chatbot.replies import Action, ActionStyle, Notice, Reply, Severity
from chatbot.store.members import MemberStore

log = logging.getLogger(__name__)
D0 = Decimal(0)
SEVERITY = {AlertBand.WARN: Severity.WARNING, AlertBand.MARGIN_CALL: Severity.ERROR,
            AlertBand.PRE_LIQUIDATION: Severity.CRITICAL, AlertBand.FORCE_LIQUIDATION: Severity.CRITICAL}
LABEL = {AlertBand.WARN: "LOW MARGIN", AlertBand.MARGIN_CALL: "MARGIN CALL",
         AlertBand.PRE_LIQUIDATION: "PRE-LIQUIDATION", AlertBand.FORCE_LIQUIDATION: "LIQUIDATION"}
EVENT_KINDS = {"price", "fill", "band", "liquidation", "liability", "clock"}


def account_key(isolated_symbol: str | None) -> str:
    return isolated_symbol or "cross"


def rules_of(cfg: AlertsConfig) -> Rules:
    return Rules(cfg.warn_level, cfg.hysteresis, timedelta(seconds=cfg.repeat_interval_seconds),
                 timedelta(seconds=cfg.escalate_after_seconds))


def ways_back(snap: AccountSnapshot, target: Decimal) -> list[str]:
    """Repay X of the biggest liability, or add Y USDT of collateral, to get back above `target`."""
    assets, liab = snap.total_asset_value, snap.total_liability_value
    if liab <= 0 or assets >= target * liab:
        return []
    add = target * liab - assets
    out = []
    debts = sorted((b for b in snap.assets if b.liability > 0),
                   key=lambda b: b.liability * snap.prices.get(b.asset, D0), reverse=True)
    if debts:
        top = debts[0]
        price = snap.prices.get(top.asset, D0)
        if price > 0:
            units = min((target * liab - assets) / (target - 1) / price, top.liability)
            out.append(f"repay {fmt_amount(units, 6)} {top.asset} (free {fmt_amount(top.free, 6)})")
    out.append(f"add {fmt(add)} USDT of collateral")
    return out


def alert_reply(kind: str, incident: Incident, snap: AccountSnapshot, cfg: AlertsConfig) -> Reply:
    name = account_name(snap.isolated_symbol)
    level = fmt_level(snap.margin_level)
    if kind == "resolve":
        return Reply(title=f"Back to normal — {name} margin level {level}", severity=Severity.SUCCESS,
                     lines=(f"Incident #{incident.id} resolved (above {cfg.warn_level + cfg.hysteresis}).",),
                     ref=f"incident:{incident.id}")
    prefix = {"fire": "", "worse": "WORSE: ", "repeat": "Still: ", "escalate": "ESCALATED: "}[kind]
    t = snap.thresholds
    fields = [("Margin level", f"{level} — {snap.band.value}"),
              ("Bars", f"warn ≤ {cfg.warn_level}, margin call ≤ {t.margin_call}, liquidation ≤ {t.liquidation}"),
              *distance_lines(snap)]
    debts = sorted((b for b in snap.assets if b.liability > 0),
                   key=lambda b: b.liability * snap.prices.get(b.asset, D0), reverse=True)[:3]
    if debts:
        fields.append(("Biggest liabilities", ", ".join(
            f"{fmt_amount(b.liability, 6)} {b.asset} ({fmt(b.liability * snap.prices.get(b.asset, D0))} USDT)"
            for b in debts)))
    back = ways_back(snap, cfg.warn_level + cfg.hysteresis)
    if back:
        fields.append(("Quickest ways back", " or ".join(back)))
    lines = ()
    if kind == "escalate":
        lines = (f"Nobody acknowledged incident #{incident.id} for {cfg.escalate_after_seconds // 60} min.",)
    actions = () if incident.acknowledged_by else (
        Action("Acknowledge", f"ak:{incident.nonce}", f"/ack {incident.id}", ActionStyle.PRIMARY),)
    return Reply(title=f"{prefix}{LABEL[incident.band]} — {name} margin level {level}", fields=tuple(fields),
                 lines=lines, severity=SEVERITY[incident.band], actions=actions, ref=f"incident:{incident.id}")


class MarginMonitor:
    def __init__(self, exchange: Exchange, incidents: IncidentStore, notifier: Notifier, members: MemberStore,
                 cfg: AlertsConfig) -> None:
        self.exchange = exchange
        self.incidents = incidents
        self.notifier = notifier
        self.members = members
        self.cfg = cfg
        self.rules = rules_of(cfg)
        self._lock = asyncio.Lock()

    async def accounts(self) -> list[str | None]:
        return [None, *await self.exchange.isolated_symbols()]

    async def check_all(self) -> list[Notice]:
        async with self._lock:
            open_by_account = {i.account: i for i in self.incidents.all_open()}
            notices = []
            for symbol in await self.accounts():
                notice = await self._check(symbol, open_by_account.get(account_key(symbol)))
                if notice:
                    notices.append(notice)
            return notices

    async def check(self, isolated_symbol: str | None) -> Notice | None:
        async with self._lock:
            return await self._check(isolated_symbol, self.incidents.open_for(account_key(isolated_symbol)))

    async def _check(self, symbol: str | None, current: Incident | None) -> Notice | None:
        snap = await self.exchange.account(symbol)
        decision: Decision = decide(current, account_key(symbol), snap.margin_level, snap.thresholds, self.rules,
                                    await self.exchange.now())
        if decision.kind is None or decision.incident is None:
            return None
        incident = self.incidents.save(decision.incident)
        to_members: tuple[str, ...] = ()
        mentions: tuple[str, ...] = ()
        if decision.kind == "escalate":
            to_members = mentions = tuple(m.name for m in self.members.admins())
        reply = alert_reply(decision.kind, incident, snap, self.cfg)
        if mentions:
            reply = Reply(**{**reply.__dict__, "mentions": mentions})
        notice = Notice("margin", reply, to_members=to_members, key=f"incident:{incident.id}",
                        data={"event": decision.kind, "account": incident.account, "band": incident.band.name})
        await self.notifier.publish(notice)
        return notice

    async def on_event(self, event: ExchangeEvent) -> None:
        """Exchange listener: re-check the account an event touched, right away."""
        if event.kind not in EVENT_KINDS:
            return
        try:
            if event.kind in ("price", "clock"):
                await self.check_all()
            else:
                await self.check(event.isolated_symbol)
        except Exception:
            log.exception("margin monitor failed on a %s event", event.kind)

    async def startup_summary(self) -> Notice | None:
        """One message at start-up listing accounts already in danger (open incidents are not re-fired)."""
        lines = []
        for symbol in await self.accounts():
            snap = await self.exchange.account(symbol)
            if snap.margin_level <= self.cfg.warn_level:
                open_ = self.incidents.open_for(account_key(symbol))
                lines.append(f"{account_name(symbol)}: margin level {fmt_level(snap.margin_level)} "
                             f"({snap.band.value})" + (f", incident #{open_.id} open" if open_ else ""))
        if not lines:
            return None
        notice = Notice("margin", Reply(title="At start-up, accounts in danger:", lines=tuple(lines),
                                        severity=Severity.WARNING), data={"event": "startup"})
        await self.notifier.publish(notice)
        return notice

    def acknowledge(self, ident: str, member: str) -> Incident | None:
        return self.incidents.acknowledge(ident, member)
