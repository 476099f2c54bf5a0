"""Keep secrets out of logs, chat messages, audit rows and exception text.

`Redactor` knows the configured secret values (and their pieces: a log line may hold only one
segment of a token) and the shapes secrets take on the wire: a Telegram bot token in a URL path,
`signature=` query values, API-key and bot authorization headers, Discord interaction tokens in
webhook URLs and gateway payloads. `install_log_redaction()` puts it on every log record and
quiets the HTTP client loggers that print request URLs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "***"
_PATTERNS = (
    re.compile(r"bot\d{3,}:[A-Za-z0-9_-]{20,}"),  # Telegram bot token (also inside URLs)
    re.compile(r"(signature=)[0-9a-fA-F]{16,}"),
    re.compile(r"(X-MBX-APIKEY['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9]{16,}", re.IGNORECASE),
    re.compile(r"(Authorization['\"]?\s*[:=]\s*['\"]?Bot\s+)[A-Za-z0-9._-]{20,}", re.IGNORECASE),
    re.compile(r"(/interactions/\d+/)[^/\s?'\"]+"),  # Discord interaction tokens (valid 15 min)
    re.compile(r"(/webhooks/\d+/)[^/\s?'\"]+"),
    re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]+"""),
)
SEGMENT_MIN = 8  # pieces of a secret at least this long are secrets too


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            pieces = [secret, *(p for p in re.split(r"[.:]", secret) if len(p) >= SEGMENT_MIN)] if secret else []
            for piece in pieces:
                if len(piece) >= 6 and piece not in self._secrets:
                    self._secrets.append(piece)
        self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
        return text


REDACTOR = Redactor()


class RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redactor(message)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redactor(logging.Formatter().formatException(record.exc_info))
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


def install_log_redaction(secrets: Iterable[str] = ()) -> Redactor:
    """Redact every log record on every handler; keep URL-logging HTTP clients at WARNING."""
    REDACTOR.add(secrets)
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for f in root.filters):
        root.addFilter(RedactingFilter(REDACTOR))
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(REDACTOR))
    for noisy in ("httpx", "httpcore", "urllib3", "aiohttp.access", "telegram.request"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _patch_record_factory()
    return REDACTOR


_factory_patched = False


def _patch_record_factory() -> None:
    """Filters on the root logger miss records of child loggers with their own handlers: redact at birth."""
    global _factory_patched
    if _factory_patched:
        return
    original = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = original(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: leave it to logging to report
            return record
        clean = REDACTOR(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(factory)
    _factory_patched = True
