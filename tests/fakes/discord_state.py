"""What the fake Discord has seen and holds, and how tests read it and wait on it.

Kept apart from the server halves (tests/fakes/discord_rest.py, tests/fakes/discord_gateway.py), which
both write here: every REST call (`Call`), every pushed interaction (`Interaction`, with the calls made
on its token), the messages as a user would see them, the synced commands and the gateway
connections. Tests read it through `calls_of`, `replies`, `channel_messages`, `text_of` and wait with
`wait_for` / `wait_replies` / `wait_until`, woken by the server as calls complete.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.discord_wire import LOADING, snowflake
from tests.fakes.server import LocalServer


@dataclass
class Call:
    """One REST call as the fake saw it; `status` ≥ 400 when it was refused."""

    route: str
    method: str
    path: str
    body: Any
    query: dict[str, str]
    status: int = 200
    result: Any = None
    interaction: Interaction | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status < 400


@dataclass
class Interaction:
    """An interaction pushed over the gateway, and what the bot did with its token."""

    id: str
    token: str
    payload: dict[str, Any]
    pushed_at: float
    calls: list[Call] = field(default_factory=list)
    original_id: str | None = None  # the response message, or the message a pressed button is on
    followups: list[str] = field(default_factory=list)
    choices: list[dict[str, Any]] | None = None  # an autocomplete answer
    edited_original: bool = False

    @property
    def acknowledged(self) -> bool:
        return any(c.route == "interaction_callback" and c.ok for c in self.calls)

    @property
    def first_response_at(self) -> float | None:
        return next((c.at for c in self.calls if c.route == "interaction_callback"), None)


class DiscordState(LocalServer):
    """The fake's records; the REST and gateway halves (and FakeDiscord) build on it."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.calls: list[Call] = []
        self.interactions: dict[str, Interaction] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.deleted: set[str] = set()
        self.commands: dict[str | None, list[dict[str, Any]]] = {}  # guild id (None: global) -> schema
        self.dm_channels: dict[str, str] = {}  # user id -> DM channel id
        self.identifies: list[dict[str, Any]] = []
        self.gateway_received: list[dict[str, Any]] = []
        self._sockets: set[web.WebSocketResponse] = set()

    def dm_channel(self, user_id: int | str) -> str:
        return self.dm_channels.setdefault(str(user_id), snowflake())

    # ------------------------------------------------------------------ waiting

    def calls_of(self, route: str, *, ok: bool | None = None) -> list[Call]:
        return [c for c in self.calls if c.route == route and (ok is None or c.ok is ok)]

    async def wait_for(self, route: str, count: int = 1, *, timeout: float = 5.0) -> list[Call]:
        """The first `count` completed calls of `route`, waiting for them to happen."""
        await self.wait_until(lambda: len(self.calls_of(route)) >= count, timeout=timeout)
        return self.calls_of(route)[:count]

    async def wait_replies(self, ix: Interaction, count: int = 1, *, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The messages a user sees in answer to `ix` (see `replies`), once there are `count` of them."""
        await self.wait_until(lambda: len(self.replies(ix)) >= count, timeout=timeout)
        return self.replies(ix)

    # ------------------------------------------------------------------ what the bot did

    def replies(self, ix: Interaction) -> list[dict[str, Any]]:
        """Settled answers to `ix`: its response message (or, for a press, the pressed message if this
        interaction edited it) unless deleted or still loading, then its followups."""
        out = []
        original = self.messages.get(ix.original_id or "")
        created_here = ix.payload["type"] != 3
        if original is not None and ix.original_id not in self.deleted and not original["flags"] & LOADING \
                and (created_here or ix.edited_original):
            out.append(original)
        out += [self.messages[m] for m in ix.followups if m not in self.deleted]
        return out

    def channel_messages(self, channel_id: str) -> list[dict[str, Any]]:
        return [m for mid, m in self.messages.items() if m["channel_id"] == channel_id and mid not in self.deleted]

    @staticmethod
    def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
        return [c for row in message.get("components", []) for c in row.get("components", [])]

    @staticmethod
    def text_of(message: dict[str, Any]) -> str:
        """Everything a reader sees in a message, as plain text (content, then each embed)."""
        parts = [message.get("content") or ""]
        for e in message.get("embeds", []):
            parts += [e.get("author", {}).get("name", ""), e.get("title", "")]
            parts += [f"{f['name']}: {f['value']}" for f in e.get("fields", [])]
            parts += [e.get("description", ""), e.get("footer", {}).get("text", "")]
        return "\n".join(p for p in parts if p)

