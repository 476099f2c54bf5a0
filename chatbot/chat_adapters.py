"""The chat platforms `chatbot run` can serve, found by name: the core never imports an adapter.

Why it exists: `chatbot run` starts every adapter whose token is set (and the console on a terminal);
each adapter is imported only when enabled, so a desk without Discord never loads discord.py.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, cast

from chatbot.config import ConfigError, Settings


@dataclass(frozen=True)
class ChatAdapter:
    """A chat platform `chatbot run` can serve: enabled when its token setting is set.

    `entry` is "module:function", an `async def run(core, settings, stop_event) -> None` that serves
    until `stop_event` is set. Adapters are imported only when enabled.
    """

    platform: str
    token_setting: str  # a `Settings` field holding a SecretStr
    entry: str


CONSOLE = "adapters.console:run_console"  # the console adapter, found by name like the others
CHAT_ADAPTERS: tuple[ChatAdapter, ...] = (
    ChatAdapter("telegram", "telegram_bot_token", "adapters.telegram:run_telegram"),
    ChatAdapter("discord", "discord_bot_token", "adapters.discord:run_discord"),
)


def enabled_adapters(settings: Settings) -> list[ChatAdapter]:
    enabled = []
    for adapter in CHAT_ADAPTERS:
        token = getattr(settings, adapter.token_setting)
        if token is not None and token.get_secret_value():
            enabled.append(adapter)
    return enabled


def entry_of(adapter: ChatAdapter) -> Callable[..., Coroutine[Any, Any, None]]:
    try:
        return find(adapter.entry)
    except ModuleNotFoundError:
        raise ConfigError(f"{adapter.token_setting.upper()} is set, but the {adapter.platform} adapter is not "
                          "in this build") from None


def find(entry: str) -> Callable[..., Coroutine[Any, Any, Any]]:
    """"module:function" → the function (the core never imports an adapter; the CLI finds them by name)."""
    module_name, _, func = entry.partition(":")
    return cast(Callable[..., Coroutine[Any, Any, Any]], getattr(importlib.import_module(module_name), func))
