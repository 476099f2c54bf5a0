"""How the bot logs: one line per record on the terminal, secrets redacted, tracebacks only on request.

An operator's terminal (and a supervisor's journal) must never fill with tracebacks: a database that
went away, a chat platform that refused a message, a bug of ours — each is one line naming what
failed and the exception's type and message. With `CHATBOT_LOG_LEVEL=DEBUG` the full traceback
follows, for whoever is fixing it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from chatbot.redact import REDACTOR, install_log_redaction

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CHATTY = ("alembic", "apscheduler")


class OneLineFormatter(logging.Formatter):
    """Appends `(ExceptionType: message)` instead of a traceback, unless tracebacks are wanted."""

    def __init__(self, tracebacks: bool) -> None:
        super().__init__(FORMAT)
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self.tracebacks or not record.exc_info or record.exc_info[1] is None:
            return REDACTOR(super().format(record))
        error = record.exc_info[1]
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.exc_text = saved
        return REDACTOR(f"{line} ({type(error).__name__}{': ' + first[:300] if first else ''})")


def setup_logging(level: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(tracebacks=level == "DEBUG"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if level != "DEBUG":
        for chatty in CHATTY:
            logging.getLogger(chatty).setLevel(logging.WARNING)
    install_log_redaction(secrets)
