"""Keep interaction tokens out of discord.py's DEBUG logs.

An interaction token is a credential: for 15 minutes it lets anyone answer, edit or delete the
bot's messages for that interaction. At DEBUG, discord.py logs every gateway event in full
(`'token': '…'`) and every webhook URL (`/interactions/<id>/<token>/callback`,
`/webhooks/<app>/<token>/…`). The core's redactor masks the bot token and known secrets; these
per-interaction tokens have shapes only this adapter knows, so they are masked here, on the
discord.py loggers that print them. (The bot token itself is covered by `chatbot.redact`.)
"""

from __future__ import annotations

import logging
import re

MASK = "***"
LOGGERS = ("discord.gateway", "discord.webhook.async_", "discord.http", "discord.client", "discord.state")
_PATTERNS = (
    re.compile(r"(/interactions/\d+/)[^/\s?'\"]+"),
    re.compile(r"(/webhooks/\d+/)[^/\s?'\"]+"),
    re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]+"""),
)


def mask_interaction_tokens(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


class InteractionTokenFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: leave it to logging to report
            return True
        clean = mask_interaction_tokens(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install() -> None:
    """Idempotent: one filter per discord.py logger that prints interaction tokens."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, InteractionTokenFilter) for f in logger.filters):
            logger.addFilter(InteractionTokenFilter())
