"""Discord's wire shapes and rules, as the fake (tests/fakes/discord.py) speaks and enforces them.

Kept apart from the server because they are the part worth reading on its own. Shapes: ids
(snowflakes that carry the time, which discord.py's `created_at` reads back), the bot user, the
desk's guild, users and INTERACTION_CREATE payloads. Rules: the refusals a real Discord answers
with 50035 "Invalid Form Body" (or 50006 "Cannot send an empty message"), which the rendering tests
also check the adapter's output against. Limits: 2,000 characters of content; 10 embeds and 6,000
embed characters per message; title 256, description 4,096, 25 fields of name 256 / value 1,024;
5 rows of 5 buttons, custom_id 1-100. Commands: names `[-_a-z0-9]{1,32}`, descriptions 1-100,
≤ 25 options with the required ones first, choices or autocomplete but not both.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from discord.utils import DISCORD_EPOCH

DEFAULT_TOKEN = "MTQyNDI0MjQyNDI0MjQyNDI0.GfAkE1.fake-discord-bot-token-for-the-tests_0123456"
APP_ID = "1424242424242424242"
GUILD_ID = "1300000000000000001"
DESK_CHANNEL = "1300000000000000002"
BOT_USER = {"id": APP_ID, "username": "desk", "discriminator": "0", "global_name": "Desk", "avatar": None,
            "bot": True, "flags": 0}
GUILD = {
    "id": GUILD_ID, "name": "Desk", "unavailable": False, "member_count": 5, "owner_id": "1", "features": [],
    "roles": [{"id": GUILD_ID, "name": "@everyone", "permissions": "0", "position": 0, "color": 0, "hoist": False,
               "managed": False, "mentionable": False, "flags": 0}],
    "channels": [{"id": DESK_CHANNEL, "type": 0, "name": "desk", "position": 0, "permission_overwrites": [],
                  "nsfw": False, "parent_id": None}],
    "members": [], "threads": [], "emojis": [], "stickers": [],
}
EPHEMERAL, LOADING, SUPPRESS_NOTIFICATIONS = 1 << 6, 1 << 7, 1 << 12
INTERACTION_TTL = 3.0  # seconds to acknowledge an interaction
_NAME = re.compile(r"^[-_a-z0-9]{1,32}$")
_MENTION = re.compile(r"<@!?(\d+)>")


_INCREMENT = itertools.count()


def snowflake(at: float | None = None) -> str:
    """A Discord id that carries the time `at` (default now; discord.py's `created_at` reads it back)."""
    ms = int((time.time() if at is None else at) * 1000) - DISCORD_EPOCH
    return str((ms << 22) | (next(_INCREMENT) & 0x3FFFFF))


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


def interaction_payload(type_: int, user_id: int | str, data: dict[str, Any], *, channel_id: str,
                        dm: bool, message: dict[str, Any] | None = None,
                        created: float | None = None) -> dict[str, Any]:
    """An INTERACTION_CREATE payload as Discord sends it: in the desk's guild channel, or in a DM;
    `created` (a Unix time, default now) is the time its id carries."""
    iid = snowflake(created)
    person = user(user_id)
    payload: dict[str, Any] = {
        "id": iid, "application_id": APP_ID, "type": type_, "token": f"ixtok-{iid}-{secrets.token_hex(8)}",
        "version": 1, "data": data, "locale": "en-US", "app_permissions": "0", "entitlements": [],
        "attachment_size_limit": 8 * 1024 * 1024, "context": 1 if dm else 0, "channel_id": channel_id,
        "authorizing_integration_owners": {"0": GUILD_ID} if not dm else {"1": str(user_id)},
    }
    if dm:
        payload.update(user=person, channel={"id": channel_id, "type": 1, "recipients": [person]})
    else:
        payload.update(guild_id=GUILD_ID, guild_locale="en-US", member={
            "user": person, "roles": [], "joined_at": iso_now(), "deaf": False, "mute": False, "flags": 0,
            "permissions": "0"}, channel={"id": channel_id, "type": 0, "guild_id": GUILD_ID, "name": "desk",
                                          "position": 0, "permission_overwrites": [], "nsfw": False,
                                          "parent_id": None})
    if message is not None:
        payload["message"] = public(message)
    return payload


def option_type(command: dict[str, Any], name: str) -> int:
    """The type of a synced command's option (3 string, 4 integer, 5 boolean …)."""
    for option in command.get("options", []):
        if option["name"] == name:
            return int(option["type"])
    raise KeyError(f"/{command['name']} has no option {name!r}")


def user(user_id: int | str) -> dict[str, Any]:
    return {"id": str(user_id), "username": f"user{user_id}", "discriminator": "0", "global_name": None,
            "avatar": None, "bot": False, "flags": 0}


def public(message: dict[str, Any] | None) -> dict[str, Any]:
    """A stored message as Discord returns it (the fake's own bookkeeping keys start with `_`)."""
    return {k: v for k, v in (message or {}).items() if not k.startswith("_")}


class ApiError(Exception):
    """A refusal, as Discord sends it: HTTP status, JSON error code and message (and extra fields)."""

    def __init__(self, status: int, code: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.body = body or {}


def check_commands(commands: Any) -> list[dict[str, Any]]:
    """The rules Discord applies to a bulk overwrite (the ones a generated schema could break)."""
    if not isinstance(commands, list) or len(commands) > 100:
        raise ApiError(400, 50035, "Invalid Form Body: at most 100 commands")
    names = [c.get("name", "") for c in commands]
    if len(set(names)) != len(names):
        raise ApiError(400, 50035, "Invalid Form Body: APPLICATION_COMMANDS_DUPLICATE_NAME")
    for c in commands:
        where = f"command {c.get('name')!r}"
        if not _NAME.match(c.get("name", "")) or not 1 <= len(c.get("description", "")) <= 100:
            raise ApiError(400, 50035, f"Invalid Form Body: {where}: name or description")
        options = c.get("options") or []
        if len(options) > 25 or len({o["name"] for o in options}) != len(options):
            raise ApiError(400, 50035, f"Invalid Form Body: {where}: options")
        seen_optional = False
        for o in options:
            if not _NAME.match(o.get("name", "")) or not 1 <= len(o.get("description", "")) <= 100:
                raise ApiError(400, 50035, f"Invalid Form Body: {where}: option {o.get('name')!r}")
            if o.get("type") not in (3, 4, 5, 10):
                raise ApiError(400, 50035, f"Invalid Form Body: {where}: option type {o.get('type')}")
            if o.get("required"):
                if seen_optional:
                    raise ApiError(400, 50035, f"Invalid Form Body: {where}: APPLICATION_COMMAND_OPTIONS_"
                                               "REQUIRED_INVALID (required options must be placed before optional)")
            else:
                seen_optional = True
            if o.get("choices") and (o.get("autocomplete") or len(o["choices"]) > 25):
                raise ApiError(400, 50035, f"Invalid Form Body: {where}: choices")
    return commands


def _embed_size(e: dict[str, Any]) -> int:
    return (len(e.get("title", "")) + len(e.get("description", "")) + len(e.get("footer", {}).get("text", ""))
            + len(e.get("author", {}).get("name", ""))
            + sum(len(f.get("name", "")) + len(f.get("value", "")) for f in e.get("fields", [])))


def check_message(body: dict[str, Any], *, creating: bool) -> None:
    content, embeds, rows = body.get("content") or "", body.get("embeds") or [], body.get("components") or []
    problems = []
    if len(content) > 2000:
        problems.append("content: Must be 2000 or fewer in length.")
    if len(embeds) > 10:
        problems.append("embeds: Must be 10 or fewer in length.")
    for e in embeds:
        fields = e.get("fields", [])
        if len(e.get("title", "")) > 256 or len(e.get("description", "")) > 4096 or len(fields) > 25 \
                or len(e.get("author", {}).get("name", "")) > 256 or len(e.get("footer", {}).get("text", "")) > 2048:
            problems.append("embeds: title, description, author, footer or field count too long")
        if any(not 1 <= len(f.get("name", "")) <= 256 or not 1 <= len(f.get("value", "")) <= 1024 for f in fields):
            problems.append("embeds.fields: name 1-256, value 1-1024")
    if sum(_embed_size(e) for e in embeds) > 6000:
        problems.append("embeds: Embed size exceeds maximum size of 6000")
    custom_ids = []
    if len(rows) > 5:
        problems.append("components: Must be 5 or fewer in length.")
    for row in rows:
        buttons = row.get("components", [])
        if row.get("type") != 1 or not 1 <= len(buttons) <= 5:
            problems.append("components: an action row holds 1-5 buttons")
        for b in buttons:
            custom_ids.append(b.get("custom_id", ""))
            if not 1 <= len(b.get("custom_id", "")) <= 100 or len(b.get("label", "")) > 80:
                problems.append("components.custom_id: 1-100 characters; label ≤ 80")
    if len(set(custom_ids)) != len(custom_ids):
        problems.append("components: COMPONENT_CUSTOM_ID_DUPLICATED")
    if creating and not (content.strip() or embeds or rows):
        raise ApiError(400, 50006, "Cannot send an empty message")
    if problems:
        raise ApiError(400, 50035, "Invalid Form Body: " + "; ".join(problems))


def pinged(content: str, allowed: dict[str, Any] | None) -> list[str]:
    """The user ids a message would notify: mentioned in the content and allowed by allowed_mentions."""
    mentioned = _MENTION.findall(content)
    if allowed is None:
        return mentioned
    if "users" in (allowed.get("parse") or []):
        return mentioned
    permitted = {str(u) for u in allowed.get("users") or []}
    return [u for u in mentioned if u in permitted]
