"""The audit log: hash-chained, append-only in the database, tamper-evident, secrets redacted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from chatbot.redact import REDACTOR
from chatbot.store.audit import AuditLog
from tests.core.desk import AUDIT_KEY, open_desk, short_id


async def test_chain_verifies_and_tampering_is_detected(db_url: str) -> None:
    desk = await open_desk(db_url)
    try:
        pid = short_id(await desk.say("carol", "/borrow USDT 1000"))
        await desk.say("alice", f"/confirm {pid}")
        await desk.say("carol", f"/confirm {pid}")
        await desk.say("dave", "/halt nope")
        log = AuditLog(desk.core.engine, AUDIT_KEY)
        result = log.verify()
        assert result.ok and result.rows >= 6
        actions = [row.action for row in log.tail(50)]
        for expected in ("borrow", "confirm", "exchange.borrow", "halt"):
            assert expected in actions, expected
        engine = desk.core.engine
        with pytest.raises(DatabaseError), engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_log SET outcome='ok' WHERE action='halt'"))
        with pytest.raises(DatabaseError), engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_log"))
        # Someone with owner rights drops the guard and edits history: the chain says so.
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
            else:
                conn.execute(sa.text("DROP TRIGGER audit_log_append_only ON audit_log"))
            conn.execute(sa.text("UPDATE audit_log SET outcome='ok' WHERE action='halt'"))
        broken = log.verify()
        assert not broken.ok and broken.broken_at is not None
    finally:
        await desk.close()


def test_redactor_masks_secrets_and_wire_shapes() -> None:
    REDACTOR.add(["SENTINEL-secret-value"])
    text = ("GET https://api.telegram.org/bot123456:AAE-abcdefghijklmnopqrstuvwxyz/getMe "
            "signature=0123456789abcdef0123456789abcdef SENTINEL-secret-value")
    clean = REDACTOR(text)
    assert "SENTINEL" not in clean and "AAE-abc" not in clean and "0123456789abcdef0123" not in clean
