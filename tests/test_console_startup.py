"""Guards of the one-shot console's start-up cost that need no timing.

Why it exists: `chatbot console` answering one command pays for every import and every start-up
step (benchmarks/console_bench.py measures it). What it must not pay for can be checked exactly: a
console on the paper exchange with no chat token never imports the chat clients or the live
exchange; on a database already at head it never loads Alembic; and it collects garbage again once
start-up is over. The cheap revision check that replaces Alembic at start must agree with Alembic.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from chatbot import cli, scheduler
from chatbot.store import migrate
from tests.cli import cli_env

# The `chatbot` script, reporting at exit what it had imported and whether the collector runs.
REPORTING_CLI = """\
import atexit, gc, json, sys
atexit.register(lambda: print("MODULES " + json.dumps({"modules": sorted(sys.modules), "gc": gc.isenabled()})))
sys.argv = ["chatbot", *sys.argv[1:]]
from chatbot.cli import app
app()
"""
NOT_CONFIGURED = ("telegram", "discord", "binance", "adapters.telegram", "adapters.discord", "adapters.binance")


def reporting_console(tmp_path: Path, stdin: str) -> tuple[set[str], bool, str]:
    done = subprocess.run([sys.executable, "-c", REPORTING_CLI, "console"], cwd=tmp_path, env=cli_env(tmp_path),
                          input=stdin, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    head, _, report = done.stdout.rpartition("MODULES ")
    found = json.loads(report)
    return set(found["modules"]), bool(found["gc"]), head


def loaded(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


def test_a_console_imports_only_what_its_desk_uses(tmp_path: Path) -> None:
    first, _, out = reporting_console(tmp_path, "/status\n")  # a new database: Alembic creates the schema
    assert "Status" in out and loaded(first, "alembic")
    modules, collecting, out = reporting_console(tmp_path, "/status\n")
    assert "Status" in out
    assert [p for p in (*NOT_CONFIGURED, "alembic") if loaded(modules, p)] == []
    assert collecting  # start-up turns the collector off; serving turns it back on


def test_the_cheap_revision_check_agrees_with_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    assert migrate.script_heads() == {migrate.head(url)}
    assert not migrate.is_current(url)  # no schema yet
    migrate.upgrade(url)
    assert migrate.is_current(url) and migrate.current(url) == migrate.head(url)
    migrate.downgrade(url, "-1")
    assert not migrate.is_current(url)
    migrate.upgrade(url)  # not at head: Alembic runs
    assert migrate.is_current(url)


def test_unusual_revision_files_leave_the_decision_to_alembic(tmp_path: Path) -> None:
    (tmp_path / "0001_a.py").write_text("revision: str = '0001'\ndown_revision: str | None = None\n")
    (tmp_path / "0002_b.py").write_text("revision = '0002'\ndown_revision = '0001'\n")
    assert migrate.script_heads(tmp_path) == {"0002"}
    (tmp_path / "0003_c.py").write_text("revision = '0003'\ndown_revision = '0002'\nbranch_labels = ('x',)\n")
    assert migrate.script_heads(tmp_path) == frozenset()


def test_the_jobs_help_names_every_desk_job() -> None:
    assert tuple(scheduler.DESK_JOBS) == cli.JOB_NAMES
