"""Paper and live never share a database: the first start tags it, every later start checks the tag.

A desk that tried the bot on the paper exchange and then sets `CHATBOT_EXCHANGE=binance` must not
find its drill loans, pending prompts and incidents mixed into live trading (nor live intents
reconciled against the paper ledger). The tag is one `desk_state` row; a database from before the
tag existed counts as paper when it holds paper exchange state.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from chatbot.config import ConfigError
from chatbot.store.db import on_conflict_retry, session_scope
from chatbot.store.tables import DeskState, utcnow

MODE_KEY = "exchange"


def _untagged_mode(engine: Engine) -> str | None:
    """What an untagged database was used for: paper when it holds paper state, else nothing yet."""
    if not sa.inspect(engine).has_table("paper_state"):
        return None
    with engine.connect() as conn:
        return "paper" if conn.execute(sa.text("SELECT 1 FROM paper_state LIMIT 1")).first() else None


def claim_database(engine: Engine, exchange: str) -> None:
    """Tag an unused database with `exchange`; refuse one tagged (or used) for another exchange."""
    on_conflict_retry(lambda: _claim(engine, exchange))


def _claim(engine: Engine, exchange: str) -> None:
    with session_scope(engine) as s:
        row = s.get(DeskState, MODE_KEY)
        tagged = json.loads(row.value_json) if row else _untagged_mode(engine)
        if tagged is None or tagged == exchange:
            if row is None:
                s.add(DeskState(key=MODE_KEY, value_json=json.dumps(exchange), updated_at=utcnow()))
            return
    raise ConfigError(f"CHATBOT_DATABASE_URL holds {tagged} exchange data and CHATBOT_EXCHANGE={exchange}: "
                      f"paper and live never share a database; point CHATBOT_DATABASE_URL at a database "
                      f"of its own for {exchange}")
