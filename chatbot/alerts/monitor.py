"""The margin monitor: values every margin account, decides incidents, and tells the right people.

Runs on a schedule (every `monitor_interval_seconds`) and immediately on every exchange event
(paper price ticks, fills, liquidations). Each alert says where the account stands, what price
move reaches the next bar and liquidation, the biggest liabilities, and the quickest ways back.
An incident counts only notifications that reached someone: with no margin channel (or none
reachable) it goes to the admins by DM, and one nobody heard is tried again at the next check.
Liquidations are incidents of their own (`chatbot.alerts.liquidations`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import ROUND_UP, Decimal

from sqlalchemy.exc import IntegrityError

from chatbot import margin
from chatbot.alerts.incidents import LIQUIDATION, AlertBand, Decision, Incident, IncidentStore, Rules, decide
from chatbot.alerts.liquidations import LiquidationWatch
from chatbot.commands.registry import button_token
from chatbot.commands.views import distance_lines, fmt_level
from chatbot.config import AlertsConfig
from chatbot.exchange import AccountSnapshot, AssetBalance, Exchange, ExchangeEvent, account_key, account_label
from chatbot.money import fmt, fmt_amount, q8
from chatbot.notify import Notifier
from chatbot.replies import Action, ActionStyle, Notice, Reply, Severity
from chatbot.store.audit import AuditLog
from chatbot.store.members import MemberStore
from chatbot.workers import ThreadLock

log = logging.getLogger(__name__)
D0 = Decimal(0)
SEVERITY = {AlertBand.WARN: Severity.WARNING, AlertBand.MARGIN_CALL: Severity.ERROR,
            AlertBand.PRE_LIQUIDATION: Severity.CRITICAL, AlertBand.FORCE_LIQUIDATION: Severity.CRITICAL}
LABEL = {AlertBand.WARN: "LOW MARGIN", AlertBand.MARGIN_CALL: "MARGIN CALL",
         AlertBand.PRE_LIQUIDATION: "PRE-LIQUIDATION", AlertBand.FORCE_LIQUIDATION: "LIQUIDATION"}
STARTUP_SUMMARY = "startup-summary"  # desk_state key: the last start-up summary any process posted
SAID_RECENTLY = timedelta(minutes=10)
EVENT_KINDS = {"price", "fill", "band", "liquidation", "liability", "clock"}
ALARMS = {"ban": "the exchange banned this IP; no request is sent until the ban ends",
          "clock": "this machine's clock is off the exchange's; orders, loans and transfers pause"}


def rules_of(cfg: AlertsConfig) -> Rules:
    return Rules(cfg.warn_level, cfg.hysteresis, timedelta(seconds=cfg.repeat_interval_seconds),
                 timedelta(seconds=cfg.escalate_after_seconds))


def ways_back(snap: AccountSnapshot, target: Decimal, sources: tuple[tuple[str, Decimal], ...] = ()) -> list[str]:
    """Repay X of the biggest liability (only when that much is free), or add Y USDT of collateral — with the
    exact `/transfer` that does it when one of `sources` (wallet name, USDT it can give) has the funds."""
    debts = _debts(snap)
    top = debts[0] if debts else None
    found = margin.ways_back(snap.total_asset_value, snap.total_liability_value, target,
                             top.liability if top else None, snap.prices.get(top.asset, D0) if top else D0)
    if found is None:
        return []
    out = []
    if found.repay_units is not None and top is not None and 0 < found.repay_units <= top.free:
        units = found.repay_units.quantize(Decimal("0.00000001"), rounding=ROUND_UP)
        out.append(f"repay {fmt_amount(units)} {top.asset} (/repay {top.asset} {fmt_amount(units)}"
                   f"{' ' + snap.isolated_symbol if snap.isolated_symbol else ''})")
    add = found.add_value.quantize(Decimal("0.01"), rounding=ROUND_UP)
    target_name = snap.isolated_symbol or "cross"
    source = next((name for name, free in sources if free >= add and name != target_name), None)
    if source is not None:  # the command says the amount: it is not printed twice
        out.append(f"add collateral: /transfer USDT {add} {source} {target_name}")
    else:
        out.append(f"add {fmt(add)} USDT of collateral")
    return out


async def collateral_sources(exchange: Exchange, snap: AccountSnapshot) -> tuple[tuple[str, Decimal], ...]:
    """Where USDT could come from to shore up `snap`'s account: spot, and cross for an isolated account."""
    out = [("spot", (await exchange.spot_balances()).get("USDT", D0))]
    if snap.isolated_symbol is not None:
        out.append(("cross", await exchange.max_transferable("USDT", None)))
    return tuple(out)


def _debts(snap: AccountSnapshot) -> list[AssetBalance]:
    """The account's liabilities, biggest (in USDT) first."""
    return sorted((b for b in snap.assets if b.liability > 0),
                  key=lambda b: b.liability * snap.prices.get(b.asset, D0), reverse=True)


def alert_reply(kind: str, incident: Incident, snap: AccountSnapshot, cfg: AlertsConfig,
                sources: tuple[tuple[str, Decimal], ...] = ()) -> Reply:
    name = account_label(snap.isolated_symbol)
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
    debts = _debts(snap)[:3]
    if debts:
        fields.append(("Biggest liabilities", ", ".join(
            f"{fmt_amount(b.liability, 6)} {b.asset} ({fmt(b.liability * snap.prices.get(b.asset, D0))} USDT)"
            for b in debts)))
    back = ways_back(snap, cfg.warn_level + cfg.hysteresis, sources)
    if back:
        fields.append(("Quickest ways back", " or ".join(back)))
    lines: tuple[str, ...] = ()
    if kind == "escalate":
        lines = (f"Nobody acknowledged incident #{incident.id} for {cfg.escalate_after_seconds // 60} min.",)
    actions = () if incident.acknowledged_by else (
        Action("Acknowledge", button_token("ack", incident.nonce), f"/ack {incident.id}", ActionStyle.PRIMARY),)
    return Reply(title=f"{prefix}{LABEL[incident.band]} — {name} margin level {level}", fields=tuple(fields),
                 lines=lines, severity=SEVERITY[incident.band], actions=actions, ref=f"incident:{incident.id}")


class MarginMonitor:
    """Watches every margin account; every incident reaches a person or is tried again."""

    def __init__(self, exchange: Exchange, incidents: IncidentStore, notifier: Notifier, members: MemberStore,
                 cfg: AlertsConfig, audit: AuditLog) -> None:
        self.exchange = exchange
        self.incidents = incidents
        self.notifier = notifier
        self.members = members
        self.cfg = cfg
        self.audit = audit
        self.rules = rules_of(cfg)
        self.liquidations = LiquidationWatch(exchange, incidents, audit, members)
        self._lock = ThreadLock()  # cycles and events may run on different worker threads

    async def check_all(self) -> list[Notice]:
        """One cycle over every account: the time, the liquidation marks, the open incidents, every account's
        snapshot and liquidation records are each read once for all accounts (not once per account), and
        the incidents that said nothing are written together, only where their level moved."""
        async with self._lock:
            open_by_account = {i.account: i for i in self.incidents.all_open()}
            now, seen = await self.exchange.now(), self.liquidations.seen()
            snaps = await self.exchange.accounts()
            liquidated = await self.exchange.liquidations_since(self.liquidations.starts(snaps, now, seen))
            notices: list[Notice] = []
            quiet: list[Incident] = []
            try:
                for symbol, snap in snaps.items():
                    if symbol in liquidated:
                        notices += await self.liquidations.handle(symbol, liquidated[symbol], self._deliver,
                                                                  now=now, seen=seen)
                    current = open_by_account.get(account_key(symbol))
                    decision = self._decide(snap, current, now, quiet)
                    notice = await self._speak(snap, current, decision) if decision else None
                    if notice:
                        notices.append(notice)
            finally:
                self.incidents.save_quietly(quiet)
            notices += await self.liquidations.repeat(self.rules.repeat_interval, now, self._deliver)
            return notices

    async def check(self, isolated_symbol: str | None) -> Notice | None:
        async with self._lock:
            await self.liquidations.check(isolated_symbol, self._deliver)
            snap = await self.exchange.account(isolated_symbol)
            current = self.incidents.open_for(account_key(isolated_symbol))
            now = await self.exchange.now()
            quiet: list[Incident] = []
            decision = self._decide(snap, current, now, quiet)
            self.incidents.save_quietly(quiet)
            return await self._speak(snap, current, decision) if decision else None

    def _decide(self, snap: AccountSnapshot, current: Incident | None, now: datetime,
                quiet: list[Incident]) -> Decision | None:
        """One account's incident: the decision when there is something to say; otherwise None, and the
        incident goes to `quiet` (for the caller to write) if its level moved or it is dropped."""
        decision = decide(current, account_key(snap.isolated_symbol), snap.margin_level, snap.thresholds,
                          self.rules, now)
        if decision.incident is None:
            return None
        if decision.kind is None or decision.kind == "drop":
            if decision.kind == "drop" or current is None or q8(snap.margin_level) != current.last_level:
                quiet.append(decision.incident)
            return None
        return decision

    async def _speak(self, snap: AccountSnapshot, current: Incident | None, decision: Decision) -> Notice | None:
        """Deliver what `_decide` found to say; the incident is written around the delivery."""
        assert decision.kind is not None and decision.incident is not None
        if current is None:  # open it first (quietly), so its Acknowledge button has an id
            try:
                current = self.incidents.save(replace(decision.incident, last_notified_at=None, notifications=0))
            except IntegrityError:  # another process opened it a moment ago
                return None
        incident = replace(decision.incident, id=current.id)
        if not self.incidents.claim(current, incident):  # another process is saying it (or said it) already
            return None
        to_members: tuple[str, ...] = ()
        if decision.kind == "escalate":
            to_members = tuple(m.name for m in self.members.admins())
        try:
            sources = await collateral_sources(self.exchange, snap) if decision.kind != "resolve" else ()
        except Exception:  # an alert never waits on where collateral could come from
            sources = ()
        reply = alert_reply(decision.kind, incident, snap, self.cfg, sources)
        if to_members:
            reply = replace(reply, mentions=to_members)
        notice = Notice("margin", reply, to_members=to_members, key=f"incident:{incident.id}",
                        data={"event": decision.kind, "account": incident.account, "band": incident.band.name})
        if not await self._deliver(notice):  # nobody got it: back to what was true, so the next check tries again
            self.incidents.release(incident, replace(current, last_level=snap.margin_level))
        return notice

    async def _deliver(self, notice: Notice) -> int:
        """Publish; a margin notice that reached nobody (no channel, or every channel failed) goes to the
        admins by DM. Returns how many deliveries happened."""
        delivered = await self.notifier.publish(notice)
        admins = tuple(m.name for m in self.members.admins())
        if delivered == 0 and set(notice.to_members) != set(admins):
            delivered = await self.notifier.publish(replace(notice, to_members=admins, to_channels=False))
        return delivered

    async def on_event(self, event: ExchangeEvent) -> None:
        """Exchange listener: re-check the account an event touched, right away; an exchange alarm (a ban,
        a wrong clock) goes to the admins and the system channels."""
        if event.kind == "alarm":
            await self._alarm(event)
            return
        if event.kind not in EVENT_KINDS:
            return
        try:
            if event.kind in ("price", "clock"):
                await self.check_all()
            else:
                await self.check(event.isolated_symbol)
        except Exception:
            log.exception("margin monitor failed on a %s event", event.kind)

    async def _alarm(self, event: ExchangeEvent) -> None:
        what = str(event.data.get("what", "alarm"))
        details = tuple(f"{k}: {v}" for k, v in sorted(event.data.items()) if k != "what")
        reply = Reply(title=f"Exchange alarm: {ALARMS.get(what, what)}", lines=details, severity=Severity.CRITICAL)
        admins = tuple(m.name for m in self.members.admins())
        self.audit.append("system", "exchange.alarm", what, detail={k: str(v) for k, v in event.data.items()})
        await self.notifier.publish(Notice("system", reply, to_members=admins))

    async def startup_summary(self) -> Notice | None:
        """One message at start-up listing accounts already in danger (open incidents are not re-fired)."""
        lines = []
        for symbol, snap in (await self.exchange.accounts()).items():
            if snap.margin_level <= self.cfg.warn_level:
                open_ = self.incidents.open_for(account_key(symbol))
                lines.append(f"{account_label(symbol)}: margin level {fmt_level(snap.margin_level)} "
                             f"({snap.band.value})" + (f", incident #{open_.id} open" if open_ else ""))
        if not lines:
            return None
        notice = Notice("margin", Reply(title="At start-up, accounts in danger:", lines=tuple(lines),
                                        severity=Severity.WARNING), data={"event": "startup"})
        if not self.incidents.say_once(STARTUP_SUMMARY, "\n".join(lines), await self.exchange.now(), SAID_RECENTLY):
            return None  # another process starting with this one posted the same summary
        await self._deliver(notice)
        return notice

    def open_summary(self) -> list[str]:
        """One line per open incident (for `chatbot jobs run margin-monitor --once`)."""
        lines = []
        for i in self.incidents.all_open(kind=None):
            heard = f"notified {i.notifications}×" if i.notifications else "NOT delivered to anyone yet"
            ack = f"acknowledged by {i.acknowledged_by}" if i.acknowledged_by else "unacknowledged"
            what = f"LIQUIDATION ({i.detail})" if i.kind == LIQUIDATION else f"{LABEL[i.band]}, level {i.last_level}"
            lines.append(f"#{i.id} {i.account}: {what}; opened {i.opened_at:%Y-%m-%d %H:%M} UTC; {heard}; {ack}")
        return lines

    def acknowledge(self, ident: str, member: str) -> Incident | None:
        return self.incidents.acknowledge(ident, member)
