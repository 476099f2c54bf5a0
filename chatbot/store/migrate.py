"""Run Alembic from code: `chatbot db upgrade`, start-up upgrades and the migration tests.

The `alembic/` folder sits next to the `chatbot` package in the project tree.

Why the cheap check: every start upgrades the database to head, and nearly always it is already
there. Loading Alembic for that (its runtime, `alembic/env.py`, every revision module) costs more
than the rest of opening the desk, so `upgrade()` to head first compares the database's
`alembic_version` rows with the heads written in the revision files (their `revision` and
`down_revision` lines: small file reads, no imports). Only when they differ, or a file is not in the
shape our template writes, does Alembic run — and decide exactly as before.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from chatbot.store.db import make_engine, normalize_url

if TYPE_CHECKING:
    from alembic.config import Config

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VERSIONS = PROJECT_ROOT / "alembic" / "versions"
VERSION_TABLE = "alembic_version"
# A module-level `name: annotation = value` (or `name = value`) line, as script.py.mako writes them.
_ASSIGNMENT = re.compile(r"^(revision|down_revision|branch_labels|depends_on)\b[^=\n]*=(.*)$", re.MULTILINE)


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # Alembic is loaded only when it has work to do (see the module doc)

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    cfg.attributes["url"] = normalize_url(url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    if revision == "head" and is_current(url):
        return
    from alembic import command  # only when there is something to upgrade

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def is_current(url: str) -> bool:
    """True when the database is at the head revision(s) of `alembic/versions`: what `alembic upgrade
    head` would leave unchanged. False when unsure (no version table, other rows, unusual files)."""
    heads = script_heads()
    if not heads:
        return False
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(VERSION_TABLE):
                return False
            stamped = {row[0] for row in conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))}
    finally:
        engine.dispose()
    return stamped == heads


def script_heads(versions: Path = VERSIONS) -> frozenset[str]:
    """The revisions no other revision file revises, read from the files' assignments without
    importing them; empty when a file does not say plainly (a branch label, a dependency, no
    revision): Alembic then reads them itself."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in versions.glob("*.py"):
        if path.name.startswith(("__init__", ".#")):
            continue
        try:
            found = {name: ast.literal_eval(value.strip()) for name, value in
                     _ASSIGNMENT.findall(path.read_text(encoding="utf-8"))}
        except (ValueError, SyntaxError, OSError):
            return frozenset()
        revision, down = found.get("revision"), found.get("down_revision")
        if (not isinstance(revision, str) or found.get("branch_labels") is not None
                or found.get("depends_on") is not None):
            return frozenset()
        downs = (down,) if isinstance(down, str) else tuple(down or ())
        if not all(isinstance(d, str) for d in downs):
            return frozenset()
        revisions.add(revision)
        revised.update(downs)
    return frozenset(revisions - revised)
