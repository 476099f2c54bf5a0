"""Reply → Telegram HTML and inline keyboards: the only place that knows Telegram's formatting rules.

Kept apart from the handlers so the rules are testable without a bot: every piece of text from the
core is HTML-escaped (a symbol, a member name or an exchange message can contain `<` or `&`), tables
go in `<pre>` so their columns line up, and a reply longer than Telegram's 4096-character limit is
split on line boundaries into parts marked `[1/3]`, `[2/3]` … (a `<pre>` cut in two is closed and
reopened). A table wider than a phone (`PHONE_WIDTH`) becomes one line per row instead of a `<pre>`.
Buttons carry the core's opaque token as `callback_data` unchanged (≤ 64 bytes).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from chatbot.replies import Action, Reply, Severity, Table

log = logging.getLogger(__name__)

MAX_MESSAGE = 4096  # Telegram's limit for a text message, in UTF-16 code units after parsing
MAX_CALLBACK_DATA = 64  # bytes
MAX_ALERT = 200  # answerCallbackQuery text
PHONE_WIDTH = 40  # a <pre> table wider than this wraps on a phone: it is turned into lines instead
MARKER = re.compile(r"^\[\d+/\d+\]$")
ICONS = {Severity.INFO: "ℹ️", Severity.SUCCESS: "✅", Severity.WARNING: "⚠️", Severity.ERROR: "⛔",
         Severity.CRITICAL: "🚨"}
_PRE_TAGS = len("<pre>") + len("</pre>")
_MARKER_RESERVE = len("[999/999]\n")


@dataclass(frozen=True)
class Line:
    """One output line: its HTML, whether it belongs in a <pre> block, and its plain text (for hard splits)."""

    html: str
    pre: bool = False
    plain: str = ""


@dataclass(frozen=True)
class Rendered:
    parts: tuple[str, ...]  # each a complete, well-formed HTML message
    keyboard: InlineKeyboardMarkup | None  # goes on the last part


def tg_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def lines_of(reply: Reply, mentions: Mapping[str, int] | None = None) -> list[Line]:
    title = f"{ICONS.get(reply.severity, '')} {reply.title}".strip()
    out = [Line(f"<b>{esc(title)}</b>", plain=title)]
    out += [Line(f"<b>{esc(k)}:</b> {esc(v)}", plain=f"{k}: {v}") for k, v in reply.fields]
    out += [Line(esc(line), plain=line) for line in reply.lines]
    if reply.table is not None:
        rows = table_rows(reply.table)
        if max(tg_len(row) for row in rows) <= PHONE_WIDTH:
            out += [Line(esc(row), pre=True, plain=row) for row in rows]
        else:  # wider than a phone: one line per row, "first: Header value · Header value"
            out += [Line(f"<b>{esc(r[0])}:</b> {esc(_cells(reply.table.headers, r))}",
                         plain=f"{r[0]}: {_cells(reply.table.headers, r)}") for r in reply.table.rows]
    if reply.mentions:
        out.append(Line(" ".join(_mention(name, (mentions or {}).get(name)) for name in reply.mentions),
                        plain=" ".join(f"@{n}" for n in reply.mentions)))
    return out


def table_rows(table: Table) -> list[str]:
    rows = [table.headers, *table.rows]
    widths = [max(tg_len(row[i]) for row in rows) for i in range(len(table.headers))]

    def line(row: tuple[str, ...]) -> str:
        cells = [c + " " * (w - tg_len(c)) if i == 0 else " " * (w - tg_len(c)) + c
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(cells).rstrip()

    return [line(r) for r in rows]


def _cells(headers: tuple[str, ...], row: tuple[str, ...]) -> str:
    return " · ".join(f"{h} {c}" for h, c in zip(headers[1:], row[1:], strict=True))


def _mention(name: str, telegram_id: int | None) -> str:
    if telegram_id:
        return f'<a href="tg://user?id={int(telegram_id)}">{esc(name)}</a>'
    return esc(f"@{name}")


def join(lines: Sequence[Line]) -> str:
    """Lines → HTML; consecutive <pre> lines share one block."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].pre:
            j = i
            while j < len(lines) and lines[j].pre:
                j += 1
            out.append("<pre>" + "\n".join(line.html for line in lines[i:j]) + "</pre>")
            i = j
        else:
            out.append(lines[i].html)
            i += 1
    return "\n".join(out)


def _hard_split(line: Line, budget: int) -> list[Line]:
    """A single line longer than a message: cut its plain text into escaped pieces that fit."""
    room = budget - (_PRE_TAGS if line.pre else 0)
    if tg_len(line.html) <= room:
        return [line]
    pieces: list[Line] = []
    current, size = "", 0
    for ch in line.plain:
        cost = tg_len(esc(ch))
        if size + cost > room and current:
            pieces.append(Line(esc(current), line.pre, current))
            current, size = "", 0
        current += ch
        size += cost
    if current:
        pieces.append(Line(esc(current), line.pre, current))
    return pieces


def split(lines: Sequence[Line], limit: int = MAX_MESSAGE) -> list[str]:
    """Pack lines into messages of at most `limit` (marker included), never cutting inside a line."""
    whole = join(lines)
    if tg_len(whole) <= limit:
        return [whole]
    budget = limit - _MARKER_RESERVE
    chunks: list[list[Line]] = []
    current: list[Line] = []
    size = 0
    for original in lines:
        for line in _hard_split(original, budget):
            opens_pre = line.pre and (not current or not current[-1].pre)
            cost = tg_len(line.html) + (1 if current else 0) + (_PRE_TAGS if opens_pre else 0)
            if current and size + cost > budget:
                chunks.append(current)
                current, size = [], 0
                cost = tg_len(line.html) + (_PRE_TAGS if line.pre else 0)
            current.append(line)
            size += cost
    if current:
        chunks.append(current)
    total = len(chunks)
    return [f"[{i}/{total}]\n" + join(chunk) for i, chunk in enumerate(chunks, 1)]


def keyboard(actions: Sequence[Action]) -> InlineKeyboardMarkup | None:
    """One row of buttons; callback_data is the core's token, untouched."""
    buttons = []
    for action in actions:
        size = len(action.token.encode())
        if not 1 <= size <= MAX_CALLBACK_DATA:
            # A core bug; the prompt still works by typing the command shown in `action.command`.
            log.error("button %r dropped: its token is %d bytes (Telegram allows 1-64)", action.label, size)
            continue
        buttons.append(InlineKeyboardButton(action.label, callback_data=action.token))
    return InlineKeyboardMarkup([buttons]) if buttons else None


def render(reply: Reply, *, mentions: Mapping[str, int] | None = None, limit: int = MAX_MESSAGE) -> Rendered:
    """A reply as one or more HTML messages, plus its keyboard (for the last part)."""
    return Rendered(tuple(split(lines_of(reply, mentions), limit)), keyboard(reply.actions))


def render_single(reply: Reply, *, mentions: Mapping[str, int] | None = None, limit: int = MAX_MESSAGE,
                  header: str | None = None) -> str:
    """A reply as exactly one message (edits in place): cut at a line boundary with a note if too long."""
    lines = lines_of(reply, mentions)
    if header:
        lines.insert(0, Line(f"<i>{esc(header)}</i>", plain=header))
    note = Line("<i>… (truncated)</i>", plain="… (truncated)")
    if tg_len(join(lines)) <= limit:
        return join(lines)
    budget = limit - tg_len(note.html) - 1
    kept: list[Line] = []
    for line in lines:
        for piece in _hard_split(line, budget):
            if tg_len(join([*kept, piece])) > budget:
                return join([*kept, note])
            kept.append(piece)
    return join([*kept, note])  # pragma: no cover - the loop returns first


def alert_text(reply: Reply) -> str:
    """A short plain text for answerCallbackQuery (≤ 200 characters)."""
    text = reply.title if not reply.lines else f"{reply.title}\n{reply.lines[0]}"
    return text if len(text) <= MAX_ALERT else text[: MAX_ALERT - 1] + "…"


def prompt_header(message_text: str | None) -> str | None:
    """The first line of the prompt a button was on (kept above the outcome when it is edited)."""
    if not message_text:
        return None
    first = message_text.split("\n", 1)[0].strip()
    return None if not first or MARKER.match(first) else first
