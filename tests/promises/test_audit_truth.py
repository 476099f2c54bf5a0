"""Promise: the audit log tells the truth — rows cannot be forged without the key, and cutting off the
newest rows is caught against the anchor kept outside the database. Through `chatbot audit verify`."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from chatbot.store.audit import _canonical
from chatbot.store.db import make_engine
from tests.cli import chatbot, cli_env


def drill(tmp_path: Path) -> dict[str, str]:
    env = cli_env(tmp_path)
    out = chatbot(tmp_path, "console", "--as", "carol", stdin="/borrow USDT 100\n/confirm\n/status\n", env=env)
    assert out.returncode == 0, out.stderr
    ok = chatbot(tmp_path, "audit", "verify", env=env)
    assert ok.returncode == 0 and "audit chain OK" in ok.stdout and "anchored up to row" in ok.stdout, ok.stdout
    assert json.loads(Path(env["CHATBOT_AUDIT_ANCHOR_FILE"]).read_text().splitlines()[-1])["row"] >= 5
    return env


def test_a_row_appended_with_correct_chaining_but_without_the_key_is_caught(tmp_path: Path) -> None:
    env = drill(tmp_path)
    engine = make_engine(env["CHATBOT_DATABASE_URL"])
    with engine.begin() as conn:
        head = conn.execute(sa.text("SELECT hash, at FROM audit_log ORDER BY id DESC LIMIT 1")).one()
        at = head.at
        when = datetime.fromisoformat(str(at)).replace(tzinfo=UTC)
        body = _canonical(when, "telegram:1003", "carol", "approve", "ok", "", head.hash)
        conn.execute(sa.text("INSERT INTO audit_log (at, actor, member, action, outcome, detail_json, prev_hash, hash) "
                             "VALUES (:at, 'telegram:1003', 'carol', 'approve', 'ok', '', :prev, :hash)"),
                     {"at": at, "prev": head.hash, "hash": hashlib.sha256(body).hexdigest()})
    engine.dispose()
    forged = chatbot(tmp_path, "audit", "verify", env=env)
    assert forged.returncode == 1 and "audit chain BROKEN at row" in forged.stderr


def test_truncating_the_tail_is_caught_against_the_anchor(tmp_path: Path) -> None:
    env = drill(tmp_path)
    engine = make_engine(env["CHATBOT_DATABASE_URL"])
    with engine.begin() as conn:  # someone with owner rights drops the guard and cuts the newest rows
        conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        last = conn.execute(sa.text("SELECT max(id) FROM audit_log")).scalar_one()
        conn.execute(sa.text("DELETE FROM audit_log WHERE id > :keep"), {"keep": last - 3})
    engine.dispose()
    cut = chatbot(tmp_path, "audit", "verify", env=env)
    assert cut.returncode == 1 and "truncated" in cut.stderr, cut.stderr + cut.stdout


def test_the_key_never_lives_in_the_database(tmp_path: Path) -> None:
    env = drill(tmp_path)
    key = Path(env["CHATBOT_AUDIT_KEY_FILE"]).read_text().strip()
    assert len(key) == 64 and (Path(env["CHATBOT_AUDIT_KEY_FILE"]).stat().st_mode & 0o777) == 0o600
    dump = "\n".join(make_engine(env["CHATBOT_DATABASE_URL"]).raw_connection().driver_connection.iterdump())
    assert key not in dump


def test_processes_creating_the_key_together_all_read_one_whole_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from chatbot.store.anchors import load_audit_key

    key_file = tmp_path / "audit.key"
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: load_audit_key(None, key_file), range(32)))
    assert len(set(keys)) == 1 and len(keys[0]) == 64
    assert [p.name for p in tmp_path.iterdir()] == ["audit.key"]  # no drafts left behind


def test_a_short_audit_key_is_one_line_at_start(tmp_path: Path) -> None:
    from tests.cli import one_line

    result = chatbot(tmp_path, "console", stdin="/status\n", env=cli_env(tmp_path, CHATBOT_AUDIT_KEY="short"))
    assert result.returncode == 2 and "CHATBOT_AUDIT_KEY" in one_line(result) and "short" not in result.stderr
