"""Buttons whose custom_id carries only the core's opaque token, so they work after a restart.

A discord.py `View` lives in memory: after a restart its buttons are dead. A `DynamicItem` is
matched by a regular expression on the custom_id instead, for every message ever sent, by any
process that registered the class (`Client.add_dynamic_items`). The custom_id is `dmb:<token>`;
the token (≤ 64 bytes, printable ASCII) is all the core needs to find the prompt or incident in
the database, and it is passed back untouched. Which member pressed comes from the interaction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord

from chatbot.replies import Action, ActionStyle

log = logging.getLogger(__name__)

PREFIX = "dmb:"
MAX_TOKEN = 64  # bytes, the core's promise (Telegram's callback_data limit)
MAX_LABEL = 80
TEMPLATE = re.compile(PREFIX + r"(?P<token>[!-~]{1," + str(MAX_TOKEN) + "})")
STYLES = {ActionStyle.PRIMARY: discord.ButtonStyle.success, ActionStyle.DANGER: discord.ButtonStyle.danger,
          ActionStyle.SECONDARY: discord.ButtonStyle.secondary}
PressHandler = Callable[[discord.Interaction[Any], str], Awaitable[None]]


class DeskButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """One prompt or alert button. Presses go to the client's `on_desk_press(interaction, token)`."""

    def __init__(self, token: str, *, label: str = "…",
                 style: discord.ButtonStyle = discord.ButtonStyle.secondary) -> None:
        super().__init__(discord.ui.Button(label=label[:MAX_LABEL], style=style, custom_id=PREFIX + token))
        self.token = token

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> DeskButton:
        label = getattr(item, "label", None) or "…"
        style = getattr(item, "style", discord.ButtonStyle.secondary)
        return cls(match["token"], label=label, style=style)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler: PressHandler | None = getattr(interaction.client, "on_desk_press", None)
        if handler is None:  # a client that does not serve the desk
            return
        await handler(interaction, self.token)


def view_for(actions: Sequence[Action]) -> discord.ui.View | None:
    """The core's actions as one row of buttons (None when there are none: that removes buttons)."""
    if not actions:
        return None
    view = discord.ui.View(timeout=None)
    for action in actions[:5]:
        if TEMPLATE.fullmatch(PREFIX + action.token) is None:
            # A core bug; the prompt still works by typing the command shown in `action.command`.
            log.error("button %r dropped: its token is not 1-%d printable ASCII bytes", action.label, MAX_TOKEN)
            continue
        view.add_item(DeskButton(action.token, label=action.label, style=STYLES.get(action.style,
                                                                                    discord.ButtonStyle.secondary)))
    return view if view.children else None


def view_kwargs(actions: Sequence[Action]) -> dict[str, Any]:
    """`view=` for a send, only when there are buttons (webhook sends refuse `view=None`)."""
    view = view_for(actions)
    return {"view": view} if view is not None else {}
