"""Margin incidents as a small pure state machine, and their persistence.

One incident per account. It opens (fires) when the margin level enters an alert band, notifies
again when it enters a worse band, repeats at most every `repeat_interval` while open, escalates
to the admins once if nobody acknowledges within `escalate_after`, and resolves only when the
level is back above the desk's warn bar plus a hysteresis margin. Oscillating around a bar
therefore gives one fire and one resolve, never a stream of messages.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import IntEnum

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from chatbot.alerts.tables import AlertIncident
from chatbot.margin import Band, Thresholds, band_for
from chatbot.money import is_whole_number, q8
from chatbot.store.db import rows_changed, session_scope
from chatbot.store.tables import DeskState


class AlertBand(IntEnum):
    OK = 0
    WARN = 1
    MARGIN_CALL = 2
    PRE_LIQUIDATION = 3
    FORCE_LIQUIDATION = 4


def alert_band(level: Decimal, t: Thresholds, warn_level: Decimal) -> AlertBand:
    """The exchange's bands (`margin.band_for`, one source for the bars) plus the desk's warn bar."""
    exchange_band = band_for(level, t)
    if exchange_band in (Band.MARGIN_CALL, Band.PRE_LIQUIDATION, Band.FORCE_LIQUIDATION):
        return AlertBand[exchange_band.name]
    return AlertBand.WARN if level <= warn_level else AlertBand.OK


@dataclass(frozen=True)
class Rules:
    warn_level: Decimal
    hysteresis: Decimal
    repeat_interval: timedelta
    escalate_after: timedelta


MARGIN = "margin"  # an episode of a low margin level
LIQUIDATION = "liquidation"  # the exchange liquidated (part of) an account


@dataclass(frozen=True)
class Incident:
    id: int | None
    account: str
    band: AlertBand
    nonce: str
    opened_at: datetime
    last_notified_at: datetime | None  # None until a notification reached someone
    last_level: Decimal
    notifications: int = 1  # notifications delivered
    acknowledged_by: str | None = None
    escalated_at: datetime | None = None
    resolved_at: datetime | None = None
    kind: str = MARGIN
    detail: str = ""


@dataclass(frozen=True)
class Decision:
    kind: str | None  # fire | worse | repeat | escalate | resolve | drop | None (nothing to say)
    incident: Incident | None


NOTHING = Decision(None, None)  # most accounts at most checks: one value, not one per account


def decide(current: Incident | None, account: str, level: Decimal, t: Thresholds, rules: Rules,
           now: datetime) -> Decision:
    band = alert_band(level, t, rules.warn_level)
    if current is None:
        if band is AlertBand.OK:
            return NOTHING
        return Decision("fire", Incident(None, account, band, secrets.token_urlsafe(12), now, now, level))
    if level > rules.warn_level + rules.hysteresis:
        if current.last_notified_at is None:  # nobody ever heard of it: close it without a "back to normal"
            return Decision("drop", replace(current, resolved_at=now, last_level=level))
        return Decision("resolve", replace(current, resolved_at=now, last_level=level))
    if current.last_notified_at is None:  # the first notification never arrived: try again
        return Decision("fire", replace(current, band=max(band, current.band), last_notified_at=now, last_level=level,
                                        notifications=current.notifications + 1))
    if band > current.band:
        return Decision("worse", replace(current, band=band, last_notified_at=now, last_level=level,
                                         notifications=current.notifications + 1))
    if current.acknowledged_by is None and current.escalated_at is None \
            and now - current.opened_at >= rules.escalate_after:
        return Decision("escalate", replace(current, escalated_at=now, last_level=level,
                                            notifications=current.notifications + 1))
    if now - current.last_notified_at >= rules.repeat_interval and band is not AlertBand.OK:
        return Decision("repeat", replace(current, last_notified_at=now, last_level=level,
                                          notifications=current.notifications + 1))
    return Decision(None, replace(current, last_level=level))


class IncidentStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def _of(row: AlertIncident) -> Incident:
        return Incident(row.id, row.account, AlertBand[row.band], row.nonce, row.opened_at, row.last_notified_at,
                        row.last_level, row.notifications, row.acknowledged_by, row.escalated_at, row.resolved_at,
                        row.kind, row.detail)

    def open_for(self, account: str, kind: str = MARGIN) -> Incident | None:
        with session_scope(self.engine) as s:
            row = s.execute(select(AlertIncident).where(
                col(AlertIncident.account) == account, col(AlertIncident.kind) == kind,
                col(AlertIncident.resolved_at).is_(None))).scalars().first()
            return self._of(row) if row else None

    def all_open(self, kind: str | None = MARGIN) -> list[Incident]:
        with session_scope(self.engine) as s:
            stmt = select(AlertIncident).where(col(AlertIncident.resolved_at).is_(None))
            if kind is not None:
                stmt = stmt.where(col(AlertIncident.kind) == kind)
            return [self._of(r) for r in s.execute(stmt.order_by(col(AlertIncident.id))).scalars()]

    def history(self) -> list[Incident]:
        with session_scope(self.engine) as s:
            return [self._of(r) for r in s.execute(select(AlertIncident).order_by(col(AlertIncident.id))).scalars()]

    def save(self, incident: Incident) -> Incident:
        with session_scope(self.engine) as s:
            row = s.get(AlertIncident, incident.id) if incident.id else None
            if row is None:
                row = AlertIncident(account=incident.account, kind=incident.kind, band=incident.band.name,
                                    nonce=incident.nonce, opened_at=incident.opened_at,
                                    last_notified_at=incident.last_notified_at, last_level=q8(incident.last_level))
            row.band, row.last_notified_at, row.detail = incident.band.name, incident.last_notified_at, incident.detail
            row.last_level, row.notifications = q8(incident.last_level), incident.notifications
            row.acknowledged_by, row.escalated_at = incident.acknowledged_by, incident.escalated_at
            row.resolved_at = incident.resolved_at
            s.add(row)
            s.flush()
            return self._of(row)

    def claim(self, before: Incident, after: Incident) -> bool:
        """Write `after` only if the incident is still as `before` left it (no other process spoke about
        it meanwhile: every notice but a resolution counts one more notification, and a resolved one is
        closed). The winner sends; two processes never send the same repeat, escalation or resolution."""
        with session_scope(self.engine) as s:
            result = s.execute(update(AlertIncident).where(
                col(AlertIncident.id) == before.id, col(AlertIncident.notifications) == before.notifications,
                col(AlertIncident.resolved_at).is_(None)).values(**_columns(after)))
            return rows_changed(result) == 1

    def release(self, claimed: Incident, back: Incident) -> None:
        """The claimed notice reached nobody: put back what was true before (unless another process has
        moved the incident on since), so the next check tries again."""
        with session_scope(self.engine) as s:
            s.execute(update(AlertIncident).where(
                col(AlertIncident.id) == claimed.id, col(AlertIncident.notifications) == claimed.notifications,
                col(AlertIncident.resolved_at).is_(None) if claimed.resolved_at is None
                else col(AlertIncident.resolved_at) == claimed.resolved_at).values(**_columns(back)))

    def say_once(self, key: str, what: str, now: datetime, within: timedelta) -> bool:
        """True for the one process that gets to say `what` (e.g. the start-up summary) now: not when any
        process said the same under `key` within `within` (two processes starting together post it once)."""
        text = hashlib.sha256(what.encode()).hexdigest()
        with session_scope(self.engine) as s:
            moved = s.execute(update(DeskState).where(
                col(DeskState.key) == key,
                or_(col(DeskState.value_json) != text, col(DeskState.updated_at) < now - within))
                .values(value_json=text, updated_at=now))
            if rows_changed(moved) == 1:
                return True
            if s.get(DeskState, key) is not None:
                return False
        try:
            with session_scope(self.engine) as s:
                s.add(DeskState(key=key, value_json=text, updated_at=now))
            return True
        except IntegrityError:  # another process wrote it first
            return False

    def save_quietly(self, incidents: Sequence[Incident]) -> None:
        """Incidents that said nothing this check: their last level, and the resolution of one dropped, in one
        transaction. Only those two columns, and only while still open: what another process did meanwhile
        (acknowledged, delivered, resolved it) is not written over."""
        if not incidents:
            return
        stmt = (update(AlertIncident)
                .where(col(AlertIncident.id) == bindparam("b_id"), col(AlertIncident.resolved_at).is_(None))
                .values(last_level=bindparam("b_level"), resolved_at=bindparam("b_resolved")))
        with session_scope(self.engine) as s:
            s.connection().execute(stmt, [{"b_id": i.id, "b_level": q8(i.last_level), "b_resolved": i.resolved_at}
                                          for i in incidents])

    def acknowledge(self, nonce_or_id: str, member: str) -> Incident | None:
        with session_scope(self.engine) as s:
            stmt = select(AlertIncident).where(col(AlertIncident.resolved_at).is_(None))
            if is_whole_number(nonce_or_id):
                stmt = stmt.where(col(AlertIncident.id) == int(nonce_or_id))
            elif nonce_or_id:
                stmt = stmt.where(col(AlertIncident.nonce) == nonce_or_id)
            row = s.execute(stmt.order_by(col(AlertIncident.id).desc())).scalars().first()
            if row is None:
                return None
            if row.acknowledged_by is None:
                row.acknowledged_by = member
            if row.kind == LIQUIDATION:  # a liquidation is over once someone has taken it in
                row.resolved_at = datetime.now(UTC)
            return self._of(row)


def _columns(i: Incident) -> dict[str, object]:
    """What a notice changes on an incident's row."""
    return {"band": i.band.name, "last_notified_at": i.last_notified_at, "last_level": q8(i.last_level),
            "notifications": i.notifications, "acknowledged_by": i.acknowledged_by, "escalated_at": i.escalated_at,
            "resolved_at": i.resolved_at, "detail": i.detail}
