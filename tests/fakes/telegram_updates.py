"""The user's side of the fake Bot API: the updates a test pushes, built as Telegram would send them.

Kept apart from the server (tests/fakes/telegram.py), which answers the bot: this is the queue
`getUpdates` serves and the builders for what people do in a chat: `command` (a message, with its
bot_command entity when it starts with /), `edit`, `forward` and `press` (a callback_query on a
message the bot sent). Chats built here are remembered, so the bot's replies carry the same chat.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from tests.fakes.server import LocalServer
from tests.fakes.telegram_wire import public


class TelegramUpdates(LocalServer):
    """The update queue (`updates`, oldest first) and the builders that fill it."""

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[dict[str, Any]] = []
        self.chats: dict[int | str, dict[str, Any]] = {}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._callback_ids = itertools.count(1)

    def push_update(self, payload: dict[str, Any]) -> int:
        """Queue an update (without update_id) for getUpdates; returns its update_id."""
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, **payload})
        asyncio.get_running_loop().create_task(self._notify())
        return update_id

    @staticmethod
    def user(user_id: int, first_name: str | None = None) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": first_name or f"user{user_id}"}

    def chat(self, chat_id: int, chat_type: str | None = None) -> dict[str, Any]:
        kind = chat_type or ("private" if chat_id > 0 else "supergroup")
        chat: dict[str, Any] = {"id": chat_id, "type": kind}
        chat.update({"first_name": f"user{chat_id}"} if kind == "private" else {"title": f"chat {chat_id}"})
        self.chats[chat_id] = chat
        return chat

    def message(self, user_id: int, text: str, *, chat_id: int | None = None, chat_type: str | None = None,
                date: int | None = None, thread_id: int | None = None) -> dict[str, Any]:
        chat_id = user_id if chat_id is None else chat_id
        msg: dict[str, Any] = {"message_id": next(self._message_ids), "from": self.user(user_id),
                               "chat": self.chat(chat_id, chat_type), "text": text,
                               "date": int(time.time()) if date is None else date}
        if text.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split(maxsplit=1)[0])}]
        if thread_id is not None:
            msg["message_thread_id"], msg["is_topic_message"] = thread_id, True
        return msg

    def command(self, user_id: int, text: str, **kw: Any) -> int:
        """Push a message update (a command when `text` starts with /); returns the update_id."""
        return self.push_update({"message": self.message(user_id, text, **kw)})

    def edit(self, user_id: int, text: str, **kw: Any) -> int:
        """Push an `edited_message` update (the original was sent at `date`, default now)."""
        msg = self.message(user_id, text, **kw)
        msg["edit_date"] = int(time.time())
        return self.push_update({"edited_message": msg})

    def forward(self, user_id: int, text: str, *, original_sender: int, **kw: Any) -> int:
        """Push a message `user_id` forwarded from `original_sender` (who typed `text`)."""
        msg = self.message(user_id, text, **kw)
        msg["forward_origin"] = {"type": "user", "sender_user": self.user(original_sender), "date": msg["date"]}
        return self.push_update({"message": msg})

    def press(self, user_id: int, message: dict[str, Any], data: str) -> int:
        """Push a callback_query: `user_id` pressed a button of `message` (as the fake stored it)."""
        query = {"id": str(next(self._callback_ids)), "from": self.user(user_id), "message": public(message),
                 "chat_instance": f"ci{message['chat']['id']}", "data": data}
        return self.push_update({"callback_query": query})
