"""Platform-neutral requests and replies: what adapters hand the core and what they render.

An adapter turns a platform event into a `Request` and renders a `Reply` (HTML on Telegram, an
embed on Discord, text on the console). Buttons are `Action`s carrying an opaque token; pressing
one goes back to the core as `core.press(token, actor)`. Nothing here knows any platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class Actor:
    """Who is acting: the platform and the immutable numeric user id there (never a chat id)."""

    platform: str  # "console" | "telegram" | "discord"
    user_id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class Request:
    """A typed command, or a button press (`token` set), from one actor."""

    actor: Actor
    text: str  # one command line, e.g. "/borrow USDT 1000" (for a press: the command it stands for)
    chat_id: str | None = None
    event_id: str | None = None  # update_id / interaction id: a redelivered event runs once
    sent_at: datetime | None = None  # when the platform says the message was sent (stale check)
    edited: bool = False  # an edited message never triggers an action
    forwarded: bool = False  # a forwarded message never triggers an action
    queued_while_away: bool = False  # a press the platform held while the bot was down (no send time)
    token: str | None = None  # a pressed button's opaque token
    args: Mapping[str, str | bool] | None = None  # arguments by name (slash options), instead of parsing `text`


class Severity(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class ActionStyle(StrEnum):
    PRIMARY = "primary"
    DANGER = "danger"
    SECONDARY = "secondary"


@dataclass(frozen=True)
class Action:
    """A button. `token` is opaque to adapters (≤ 64 bytes); `command` is the typed equivalent."""

    label: str
    token: str
    command: str
    style: ActionStyle = ActionStyle.SECONDARY


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Reply:
    title: str
    lines: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    table: Table | None = None
    severity: Severity = Severity.INFO
    actions: tuple[Action, ...] = ()
    ref: str | None = None  # stable id of what this reply is about (a pending action, an incident)
    mentions: tuple[str, ...] = ()  # member names to mention (escalations)
    duplicate: bool = False  # a redelivered event: adapters may stay silent
    told: int | None = None  # the pending action whose outcome this reply tells its requester

    def text(self) -> str:
        """Plain-text rendering (the console's, and a fallback for every platform)."""
        out = [self.title]
        out += [f"  {k}: {v}" for k, v in self.fields]
        out += [f"  {line}" for line in self.lines]
        if self.table is not None:
            out += _text_table(self.table)
        if self.actions:
            out.append("  " + "  ".join(f"[{a.label}: {a.command}]" for a in self.actions))
        return "\n".join(out)


def _text_table(table: Table) -> list[str]:
    cols = [table.headers, *table.rows]
    widths = [max(len(row[i]) for row in cols) for i in range(len(table.headers))]

    def line(row: tuple[str, ...]) -> str:
        cells = [c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        return "  " + "  ".join(cells).rstrip()

    return [line(table.headers), *(line(r) for r in table.rows)]


def error(message: str, hint: str | None = None) -> Reply:
    """One short line saying what was wrong, and an example of the right form."""
    return Reply(title=message, lines=(hint,) if hint else (), severity=Severity.ERROR)


@dataclass(frozen=True)
class Notice:
    """A message the core sends on its own: to members (DM) and/or to channels subscribed to `kind`."""

    kind: str  # margin | interest | approvals | system
    reply: Reply
    to_members: tuple[str, ...] = ()
    to_channels: bool = True
    key: str | None = None  # incidents: messages with the same key are edited in place
    data: dict[str, str] = field(default_factory=dict)
