"""Promise: no admin command can stop the next start-up; the desk TOML wins every membership conflict.

`/grant Carol viewer telegram:8889` beside the TOML's `carol` used to make every restart fail with a
traceback. Through the real CLI: the grant is refused, and even a database already holding such
conflicts (written by an older version) starts, says what it fixed, and keeps the TOML's members.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from chatbot.store.db import make_engine
from tests.cli import chatbot, cli_env


def test_granting_a_toml_members_name_in_another_case_is_refused_and_restarts_work(tmp_path: Path) -> None:
    first = chatbot(tmp_path, "console", "--as", "alice", stdin="/grant Carol viewer telegram:8889\n")
    assert first.returncode == 0, first.stderr
    assert "carol is defined in the desk TOML" in first.stdout
    again = chatbot(tmp_path, "console", "--as", "carol", stdin="/status\n")
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    assert "Status — cross margin" in again.stdout


def test_a_database_with_conflicting_members_still_starts_and_the_toml_wins(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    assert chatbot(tmp_path, "console", "--as", "alice", stdin="/status\n", env=env).returncode == 0
    engine = make_engine(env["CHATBOT_DATABASE_URL"])
    with engine.begin() as conn:  # what older versions could leave behind
        conn.execute(sa.text("UPDATE members SET telegram_id = NULL WHERE name = 'dave'"))
        conn.execute(sa.text("INSERT INTO members (name, role, telegram_id, source, active, created_at) "
                             "VALUES ('mallory', 'admin', 1004, 'chat', 1, '2024-01-01 00:00:00')"))
    engine.dispose()
    restart = chatbot(tmp_path, "console", "--as", "dave", stdin="/status\n", env=env)
    assert restart.returncode == 0 and "Traceback" not in restart.stderr, restart.stderr
    assert "shares a platform id with a TOML member; revoked" in restart.stderr
    engine = make_engine(env["CHATBOT_DATABASE_URL"])
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT name, telegram_id FROM members WHERE active")).all())
    engine.dispose()
    assert rows["dave"] == 1004 and "mallory" not in rows
