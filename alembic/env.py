"""Alembic environment: the metadata of every table the bot owns, and a URL from the settings.

Migrations must not import sqlmodel or the bot: `render_item` writes plain SQLAlchemy types
(money as NUMERIC(38, 18) with a String variant on SQLite). SQLite uses batch mode.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlmodel import SQLModel

# Every module that defines tables, so autogenerate and `alembic check` see them all:
# paper exchange state, alert incidents and summaries, the scheduler lease, the core tables, the
# trader's view (fills, equity marks, watched orders).
import adapters.paper.tables  # noqa: F401
import chatbot.alerts.tables
import chatbot.store.lease
import chatbot.store.tables
import chatbot.trader.tables  # noqa: F401
from chatbot.scheduler import apscheduler_jobs_table
from chatbot.store.db import make_engine

target_metadata = SQLModel.metadata
if "apscheduler_jobs" not in target_metadata.tables:
    apscheduler_jobs_table(target_metadata)  # created by a migration, never by the scheduler at boot


def _url() -> str:
    url = context.config.attributes.get("url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        from chatbot.config import load_settings

        url = load_settings().chatbot_database_url
    return str(url)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    from sqlmodel.sql.sqltypes import AutoString

    from chatbot.store.types import Money, UtcDateTime

    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if type_ == "type" and isinstance(obj, Money):
        return 'sa.Numeric(38, 18).with_variant(sa.String(64), "sqlite")'
    if type_ == "type" and (isinstance(obj, UtcDateTime) or type(obj).__name__ == "UTCDateTime"):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
