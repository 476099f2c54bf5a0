"""Telegram's wire rules, as the fake Bot API (tests/fakes/telegram.py) reads requests and enforces them.

Kept apart from the server because they are the part worth reading on its own, and the rendering
tests check the adapter's output against them directly (`parse_html`). Rules: the HTML parse mode
with the allowed tags only and well-formed entities; ≤ 4096 characters after parsing, counted in
UTF-16; callback_data of 1–64 bytes; command names `[a-z0-9_]{1,32}` with descriptions of 1–256.
Shapes: Telegram's error (`ApiError`), how PTB encodes parameters, the exact JSON content type.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from aiohttp import web

DEFAULT_TOKEN = "123456789:TEST-token-for-the-fake-bot-api_0123"
BOT_USER = {"id": 999000111, "is_bot": True, "first_name": "Desk", "username": "desk_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
MAX_TEXT = 4096
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code",
                "pre", "blockquote", "tg-emoji"}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
_STRING_FIELDS = {"text", "parse_mode", "callback_query_id", "url", "secret_token", "language_code",
                  "inline_message_id"}
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """Telegram's HTML parse mode, strictly: returns the plain text or raises ApiError(400)."""
    stack: list[str] = []
    out: list[str] = []
    pos = 0

    def plain(chunk: str) -> str:
        if "<" in chunk or ">" in chunk:
            raise ApiError(400, "Bad Request: can't parse entities: unescaped < or >")
        rest = chunk
        while "&" in rest:
            i = rest.index("&")
            if not _ENTITY.match(rest, i):
                raise ApiError(400, "Bad Request: can't parse entities: unsupported entity")
            rest = rest[i + 1:]
        return html.unescape(chunk)

    for m in _TAG.finditer(text):
        out.append(plain(text[pos:m.start()]))
        pos = m.end()
        closing, tag = m.group(1) == "/", m.group(2).lower()
        if tag not in ALLOWED_TAGS:
            raise ApiError(400, f"Bad Request: can't parse entities: unsupported start tag \"{tag}\"")
        if closing:
            if not stack or stack[-1] != tag:
                raise ApiError(400, f"Bad Request: can't parse entities: unmatched end tag \"{tag}\"")
            stack.pop()
        else:
            stack.append(tag)
    out.append(plain(text[pos:]))
    if stack:
        raise ApiError(400, f"Bad Request: can't parse entities: unclosed start tag \"{stack[-1]}\"")
    return "".join(out)


def check_text(p: dict[str, Any]) -> str:
    """The text a message would show (parsed when `parse_mode` is HTML), or Telegram's refusal."""
    raw = str(p.get("text", ""))
    text = parse_html(raw) if str(p.get("parse_mode", "")).upper() == "HTML" else raw
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_len(text) > MAX_TEXT:
        raise ApiError(400, "Bad Request: message is too long")
    return text


def check_markup(markup: Any) -> dict[str, Any] | None:
    if not markup:
        return None
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return dict(markup)


def check_commands(commands: list[dict[str, Any]]) -> None:
    for c in commands:
        name, description = c.get("command", ""), c.get("description", "")
        if not re.fullmatch(r"[a-z0-9_]{1,32}", name) or not 1 <= len(description) <= 256:
            raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")


def scope_key(scope: Any) -> str:
    """One key per BotCommandScope (a chat scope per chat id)."""
    if not scope:
        return "default"
    if scope.get("type") == "chat":
        return f"chat:{scope['chat_id']}"
    return str(scope.get("type"))


def public(msg: dict[str, Any]) -> dict[str, Any]:
    """A stored message as Telegram returns it (without the fake's copy of the HTML sent)."""
    return {k: v for k, v in msg.items() if k != "html"}


def json_response(body: Any, status: int = 200) -> web.Response:
    # Exactly application/json (no charset): some clients compare the header for equality.
    return web.Response(body=json.dumps(body).encode(), status=status, headers={"Content-Type": "application/json"})


async def read_params(request: web.Request) -> dict[str, Any]:
    """PTB posts form fields with non-str values JSON-encoded; accept a JSON body too."""
    if request.content_type == "application/json":
        data = await request.json()
        return dict(data) if isinstance(data, dict) else {}
    form = await request.post()
    params: dict[str, Any] = dict(request.query)
    for key, value in form.items():
        if not isinstance(value, str):
            continue
        if key in _STRING_FIELDS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params
