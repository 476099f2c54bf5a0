"""Upgrading a 0002 database whose rows already break 0003's unique indexes (SQLite and PostgreSQL).

Before 0003 nothing stopped two open incidents for one account, two active members whose names
differ only in case, or two intents claiming the same exchange record. 0003 resolves them before
creating its unique indexes instead of failing the upgrade (and the bot's start-up):

- `uq_alert_incidents_open`: the newest open incident per account stays open, the others are
  resolved with a note in `detail`.
- `uq_members_active_name`: the oldest active member of a name (case-insensitively) stays active,
  the others are revoked like `Members.revoke` does (inactive, platform ids cleared), with a warning.
- `uq_intents_claim`: every intent is kept; the oldest keeps the claim, the others release it
  (`exchange_ref` NULL) and say so in `error`.
- `uq_intents_flight_key`: its column is new in 0003 (NULL everywhere), so a 0002 database cannot
  hold a duplicate; the test checks it is empty after the upgrade.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from chatbot.alerts.tables import AlertIncident
from chatbot.store import migrate
from chatbot.store.db import make_engine, session_scope
from chatbot.store.tables import Intent, Member
from chatbot.store.types import Money

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TS = sa.DateTime(timezone=True)

# The 0002 schema, just the columns the rows need.
members = sa.table("members", sa.column("id", sa.Integer), sa.column("name", sa.String),
                   sa.column("role", sa.String), sa.column("telegram_id", sa.BigInteger),
                   sa.column("discord_id", sa.BigInteger), sa.column("source", sa.String),
                   sa.column("active", sa.Boolean), sa.column("created_at", TS))
incidents = sa.table("alert_incidents", sa.column("id", sa.Integer), sa.column("account", sa.String),
                     sa.column("band", sa.String), sa.column("nonce", sa.String), sa.column("opened_at", TS),
                     sa.column("last_notified_at", TS), sa.column("last_level", Money()),
                     sa.column("notifications", sa.Integer), sa.column("resolved_at", TS))
intents = sa.table("intents", sa.column("id", sa.Integer), sa.column("client_id", sa.String),
                   sa.column("kind", sa.String), sa.column("params_json", sa.String), sa.column("state", sa.String),
                   sa.column("exchange_ref", sa.String), sa.column("result_json", sa.String),
                   sa.column("error", sa.String), sa.column("created_at", TS), sa.column("updated_at", TS))


def _member(id_: int, name: str, active: bool, minutes: int, tg: int | None = None,
            dc: int | None = None) -> dict[str, object]:
    return {"id": id_, "name": name, "role": "trader", "telegram_id": tg, "discord_id": dc, "source": "chat",
            "active": active, "created_at": T0 + timedelta(minutes=minutes)}


def _incident(id_: int, account: str, minutes: int, resolved: bool = False) -> dict[str, object]:
    at = T0 + timedelta(minutes=minutes)
    return {"id": id_, "account": account, "band": "warn", "nonce": f"n{id_}", "opened_at": at,
            "last_notified_at": at, "last_level": Decimal("1.3"), "notifications": 1,
            "resolved_at": at + timedelta(minutes=1) if resolved else None}


def _intent(id_: int, kind: str, ref: str | None, error: str = "") -> dict[str, object]:
    at = T0 + timedelta(minutes=id_)
    return {"id": id_, "client_id": f"dmb{id_:024d}", "kind": kind, "params_json": "{}", "state": "DONE",
            "exchange_ref": ref, "result_json": f'{{"n": {id_}}}', "error": error, "created_at": at,
            "updated_at": at}


def _seed_0002(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(members.insert(), [
            _member(1, "Alice", True, 10, tg=111),  # active, but younger than #2
            _member(2, "alice", True, 5, tg=222, dc=2222),  # the oldest active "alice": kept
            _member(3, "ALICE", True, 20, dc=333),
            _member(4, "aLiCe", False, 0),  # inactive: not a duplicate, stays as it is
            _member(5, "Bob", False, 1),  # two inactive "bob"s: 0003 lower-cases both, both stay
            _member(6, "bob", False, 2),
            _member(7, "Carol", True, 3, tg=777),  # no duplicate
        ])
        conn.execute(incidents.insert(), [
            _incident(1, "cross", 0),
            _incident(2, "cross", 30),  # the newest open one for "cross": kept
            _incident(3, "cross", 10),
            _incident(4, "cross", 40, resolved=True),  # already resolved: untouched
            _incident(5, "BTCUSDT", 0),  # the only open one for BTCUSDT
        ])
        conn.execute(intents.insert(), [
            _intent(1, "borrow", "9001"),  # first claim of borrow 9001: kept
            _intent(2, "borrow", "9001", error="late record"),
            _intent(3, "borrow", "9001"),
            _intent(4, "repay", "9001"),  # another kind: not a duplicate
            _intent(5, "order", "555"),
            _intent(6, "order", "555"),
            _intent(7, "order", None),  # NULL refs never collide
            _intent(8, "order", None),
        ])
    engine.dispose()


def test_upgrade_resolves_rows_breaking_0003s_unique_indexes(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    migrate.upgrade(db_url, "0002")
    _seed_0002(db_url)
    with caplog.at_level(logging.WARNING):
        migrate.upgrade(db_url)
    assert migrate.current(db_url) == migrate.head(db_url)

    engine = make_engine(db_url)
    with session_scope(engine) as s:
        by_id = {m.id: m for m in s.execute(select(Member)).scalars()}
        inc = {i.id: i for i in s.execute(select(AlertIncident)).scalars()}
        its = {i.id: i for i in s.execute(select(Intent)).scalars()}

    # Members: the oldest active "alice" (#2) stays with its ids; #1 and #3 are revoked like
    # Members.revoke does it (inactive, revoked_at, no platform ids), and a warning names them.
    assert {i: m.name for i, m in by_id.items()} == {1: "alice", 2: "alice", 3: "alice", 4: "alice",
                                                     5: "bob", 6: "bob", 7: "carol"}
    assert {i for i, m in by_id.items() if m.active} == {2, 7}
    kept = by_id[2]
    assert (kept.telegram_id, kept.discord_id, kept.revoked_at) == (222, 2222, None)
    assert by_id[7].telegram_id == 777 and by_id[7].revoked_at is None
    for i in (1, 3):
        assert (by_id[i].telegram_id, by_id[i].discord_id) == (None, None)
        assert by_id[i].revoked_at is not None
    assert by_id[4].revoked_at is None and by_id[5].revoked_at is None and by_id[6].revoked_at is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    member_lines = [w for w in warnings if "'alice'" in w]
    assert len(member_lines) == 1, warnings
    line = member_lines[0]
    assert "\n" not in line and "#2" in line and "#1" in line and "#3" in line
    assert "Alice" in line and "ALICE" in line  # the names as they were written

    # Incidents: the newest open one per account stays open, the older open ones are resolved
    # with a note; resolved and unique ones are untouched.
    assert inc[2].resolved_at is None and inc[5].resolved_at is None
    for i in (1, 3):
        assert inc[i].resolved_at is not None
        assert "#2" in inc[i].detail and "0003" in inc[i].detail
    assert inc[4].resolved_at == T0 + timedelta(minutes=41)
    assert inc[2].detail == inc[4].detail == inc[5].detail == ""
    assert all(i.kind == "margin" for i in inc.values())

    # Intents: every record of an exchange call is kept, with its state and result; the oldest
    # keeps the claim, the others released it and say which intent holds it (and the ref).
    assert set(its) == set(range(1, 9))
    assert {i: it.exchange_ref for i, it in its.items()} == {1: "9001", 2: None, 3: None, 4: "9001",
                                                             5: "555", 6: None, 7: None, 8: None}
    assert all(it.state == "DONE" and it.result_json == f'{{"n": {i}}}' for i, it in its.items())
    assert its[1].error == its[4].error == its[5].error == ""
    for i, ref, holder in ((2, "9001", 1), (3, "9001", 1), (6, "555", 5)):
        assert ref in its[i].error and f"#{holder}" in its[i].error
    assert its[2].error.startswith("late record; ")
    assert all(it.flight_key is None for it in its.values())  # a column new in 0003: nothing to resolve

    # The indexes hold from now on.
    for stmt in (
        members.insert().values(_member(8, "alice", True, 50)),
        incidents.insert().values({**_incident(9, "cross", 60)}),
        intents.insert().values(_intent(9, "borrow", "9001")),
    ):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(stmt)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE intents SET flight_key = 'loan:cross:USDT' WHERE id = 7"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("UPDATE intents SET flight_key = 'loan:cross:USDT' WHERE id = 8"))
    engine.dispose()
