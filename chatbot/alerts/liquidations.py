"""Liquidations are incidents of their own: the exchange sold the desk's collateral; a person must know.

A margin incident can resolve in the same minute the exchange liquidates (the level jumps back up
once the debt is gone), so liquidations are found in the exchange's own liquidation records, not
inferred from margin levels. Each new record (after the last one handled, kept in `desk_state`)
opens — or adds to — the account's open liquidation incident, goes to the margin channels and to
every admin by DM, and is written to the audit log. It repeats until someone acknowledges it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from chatbot.alerts.incidents import LIQUIDATION, AlertBand, Incident, IncidentStore
from chatbot.commands.registry import button_token
from chatbot.exchange import Exchange, LiquidationRecord, account_key, account_label, account_of_key
from chatbot.money import fmt, fmt_amount
from chatbot.replies import Action, ActionStyle, Notice, Reply, Severity
from chatbot.store.audit import AuditLog
from chatbot.store.db import on_conflict_retry, session_scope
from chatbot.store.members import MemberStore
from chatbot.store.tables import DeskState, utcnow

SEEN_KEY = "liquidations_seen"
FIRST_LOOK_BACK = timedelta(days=1)  # on the very first check, liquidations of the last day still count
Deliver = Callable[[Notice], Awaitable[int]]


def _describe(r: LiquidationRecord) -> str:
    return f"{r.side.value.lower()} {fmt_amount(r.qty)} {r.symbol} at {fmt(r.avg_price)} (fee {fmt_amount(r.fee)})"


class LiquidationWatch:
    def __init__(self, exchange: Exchange, incidents: IncidentStore, audit: AuditLog, members: MemberStore) -> None:
        self.exchange = exchange
        self.incidents = incidents
        self.audit = audit
        self.members = members

    def seen(self) -> dict[str, list[int | str]]:
        """The last liquidation handled, per account (a monitor cycle reads it once)."""
        with session_scope(self.incidents.engine) as s:
            row = s.get(DeskState, SEEN_KEY)
            return dict(json.loads(row.value_json)) if row else {}

    def _mark_seen(self, account: str, last: LiquidationRecord) -> None:
        on_conflict_retry(lambda: self._write_seen(account, last))

    def _write_seen(self, account: str, last: LiquidationRecord) -> None:
        with session_scope(self.incidents.engine) as s:
            row = s.get(DeskState, SEEN_KEY) or DeskState(key=SEEN_KEY, value_json="{}")
            seen = json.loads(row.value_json)
            seen[account] = [last.time.isoformat(), last.order_id]
            row.value_json, row.updated_at = json.dumps(seen, sort_keys=True), utcnow()
            s.add(row)

    async def check(self, symbol: str | None, deliver: Deliver, *, now: datetime | None = None,
                    seen: dict[str, list[int | str]] | None = None) -> list[Notice]:
        """New liquidation records of one account → its liquidation incident, delivered.

        A monitor cycle passes the time and the marks it read once for all accounts; alone, the
        check reads them itself.
        """
        now = now or await self.exchange.now()
        seen = self.seen() if seen is None else seen
        start = self.starts([symbol], now, seen)[symbol]
        records = await self.exchange.liquidation_records(isolated_symbol=symbol, start=start)
        return await self.handle(symbol, records, deliver, now=now, seen=seen)

    @staticmethod
    def starts(symbols: Iterable[str | None], now: datetime,
               seen: dict[str, list[int | str]]) -> dict[str | None, datetime]:
        """From when each account's records are asked for: the last one handled, else a day back."""
        out = {}
        for symbol in symbols:
            mark = seen.get(account_key(symbol))
            out[symbol] = datetime.fromisoformat(str(mark[0])) if mark else now - FIRST_LOOK_BACK
        return out

    async def handle(self, symbol: str | None, records: list[LiquidationRecord], deliver: Deliver, *,
                     now: datetime, seen: dict[str, list[int | str]]) -> list[Notice]:
        """The records the exchange gave for one account (from its `starts`) → the ones not handled yet,
        reported as its liquidation incident."""
        if not records:
            return []
        account = account_key(symbol)
        mark = seen.get(account)
        start = self.starts([symbol], now, seen)[symbol]
        new = sorted((r for r in records if not mark or (r.time, r.order_id) > (start, int(mark[1]))),
                     key=lambda r: (r.time, r.order_id))
        if not new:
            return []
        detail = "; ".join(_describe(r) for r in new)
        for r in new:
            self.audit.append("system", "liquidation", "detected",
                              detail={"account": account, "order_id": r.order_id, "symbol": r.symbol,
                                      "side": r.side.value, "qty": str(r.qty), "price": str(r.avg_price),
                                      "fee": str(r.fee)})
        current = self.incidents.open_for(account, LIQUIDATION)
        if current is None:
            try:
                current = self.incidents.save(Incident(
                    None, account, AlertBand.FORCE_LIQUIDATION, secrets.token_urlsafe(12), now, None, Decimal(0), 0,
                    kind=LIQUIDATION, detail=detail[:900]))
            except IntegrityError:  # another process opened it: it reports these records
                return []
        else:
            current = self.incidents.save(replace(current, detail=f"{current.detail}; {detail}"[:900]))
        self._mark_seen(account, new[-1])
        notice = await self._notify(current, "fire", now, deliver)
        return [notice]

    async def repeat(self, every: timedelta, now: datetime, deliver: Deliver) -> list[Notice]:
        """Unacknowledged (or never delivered) liquidation incidents are sent again."""
        out = []
        for incident in self.incidents.all_open(LIQUIDATION):
            if incident.last_notified_at is None or now - incident.last_notified_at >= every:
                out.append(await self._notify(incident, "repeat", now, deliver))
        return out

    async def _notify(self, incident: Incident, event: str, now: datetime, deliver: Deliver) -> Notice:
        name = account_label(account_of_key(incident.account))
        reply = Reply(title=f"{'Still: ' if event == 'repeat' else ''}LIQUIDATED — {name}",
                      fields=(("What the exchange did", incident.detail),),
                      lines=("The exchange sold collateral to repay the account's loans. Check /status.",),
                      severity=Severity.CRITICAL, ref=f"incident:{incident.id}",
                      actions=(Action("Acknowledge", button_token("ack", incident.nonce), f"/ack {incident.id}",
                                      ActionStyle.PRIMARY),))
        admins = tuple(m.name for m in self.members.admins())
        notice = Notice("margin", replace(reply, mentions=admins), to_members=admins, key=f"incident:{incident.id}",
                        data={"event": event, "account": incident.account, "band": "LIQUIDATION"})
        if await deliver(notice):
            self.incidents.save(replace(incident, last_notified_at=now, notifications=incident.notifications + 1))
        return notice
