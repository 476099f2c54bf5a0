"""The core notifier's way out to Discord: DMs to members, posts to alert channels (and threads).

Implements `chatbot.notify.Transport`. Sends go straight out through discord.py, whose per-route
buckets pace them and wait out 429s; ordering notices by urgency is the core notifier's job.

A notice with a `key` (an incident, an approval prompt) is one message per channel, edited in place
as it changes (key+channel → message id, in memory and bounded: after a restart the next update
is a new message); notices with the same key and channel go out one at a time, so two updates
racing cannot post two messages. Editing a message never notifies anyone, so when an edit carries mentions (an
escalation) a short reply to the alert mentions them again, with `allowed_mentions` limited to
exactly those users. A member whose DMs are closed (403 50007) is logged and reported as not
delivered; every other failure is raised for the notifier to log.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import discord

from adapters.discord.buttons import view_for, view_kwargs
from adapters.discord.render import Rendered, allowed_mentions, render, render_single
from chatbot.replies import Notice
from chatbot.store.members import DeskMember

log = logging.getLogger(__name__)

CANNOT_DM = 50007  # "Cannot send messages to this user": DMs closed, or no shared server
REMEMBERED = 10_000  # keyed messages remembered for edits (the oldest are forgotten first)
Destination = discord.DMChannel | discord.PartialMessageable  # a member's DMs, or a channel / thread by id


class DiscordTransport:
    platform = "discord"

    def __init__(self, client: discord.Client, *, mentions: Callable[[], Mapping[str, int]] | None = None) -> None:
        self.client = client
        self.mentions = mentions
        self.sent: OrderedDict[tuple[str, int], int] = OrderedDict()  # (key, channel id) -> message id
        self._locks: dict[tuple[str, int], tuple[asyncio.Lock, list[int]]] = {}  # lock, [holders + waiters]

    # ------------------------------------------------------------------ the Transport protocol

    async def send_to_member(self, member: DeskMember, notice: Notice) -> bool:
        if member.discord_id is None:
            return False
        try:
            channel = await self.client.create_dm(discord.Object(member.discord_id))
            await self.deliver(channel, notice, silent=False)
        except discord.Forbidden as exc:
            if exc.code != CANNOT_DM:
                raise
            log.warning("Discord refused a DM to %s (%s notice): %s", member.name, notice.kind, exc.text)
            return False
        return True

    async def send_to_channel(self, channel_id: str, notice: Notice, *, silent: bool,
                              topic_id: int | None) -> None:
        """`topic_id`, when set, is a thread of that channel (on Discord a thread has its own id)."""
        target = int(topic_id) if topic_id is not None else int(channel_id)
        await self.deliver(self.client.get_partial_messageable(target), notice, silent=silent)

    # ------------------------------------------------------------------ delivery

    def _mention_ids(self, notice: Notice) -> Mapping[str, int] | None:
        return self.mentions() if (self.mentions and notice.reply.mentions) else None

    async def deliver(self, channel: Destination, notice: Notice, *, silent: bool) -> None:
        mentions = self._mention_ids(notice)
        if notice.key is not None:
            await self._deliver_keyed(channel, notice, silent, mentions)
            return
        rendered = render(notice.reply, mentions=mentions)
        last = len(rendered.parts) - 1
        for i, part in enumerate(rendered.parts):
            await channel.send(content=part.content, embeds=list(part.embeds), silent=silent,
                               allowed_mentions=rendered.allowed_mentions,
                               **view_kwargs(rendered.actions if i == last else ()))

    async def _deliver_keyed(self, channel: Destination, notice: Notice, silent: bool,
                             mentions: Mapping[str, int] | None) -> None:
        assert notice.key is not None
        key = (notice.key, _channel_id(channel))
        lock, users = self._locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                await self._send_or_edit(channel, key, notice, silent, mentions)
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[key]

    async def _send_or_edit(self, channel: Destination, key: tuple[str, int], notice: Notice, silent: bool,
                            mentions: Mapping[str, int] | None) -> None:
        rendered = render_single(notice.reply, mentions=mentions)
        message_id = self.sent.get(key)
        if message_id is not None:
            message = channel.get_partial_message(message_id)
            try:
                await message.edit(**edit_kwargs(rendered))
            except discord.NotFound:
                log.info("the %s message in channel %s is gone; sending it again", notice.key, key[1])
                self.sent.pop(key, None)
            else:
                if rendered.mention_ids:  # an edit notifies nobody: say it again, to them only
                    await channel.send(content=rendered.parts[0].content, reference=message,
                                       allowed_mentions=rendered.allowed_mentions, mention_author=False)
                return
        part = rendered.parts[0]
        sent = await channel.send(content=part.content, embeds=list(part.embeds), silent=silent,
                                  allowed_mentions=rendered.allowed_mentions, **view_kwargs(rendered.actions))
        self.sent[key] = sent.id
        while len(self.sent) > REMEMBERED:
            self.sent.popitem(last=False)


def edit_kwargs(rendered: Rendered) -> dict[str, Any]:
    """An edit that replaces everything: content (None clears it), embeds, and buttons (None removes)."""
    part = rendered.parts[0]
    return {"content": part.content, "embeds": list(part.embeds), "view": view_for(rendered.actions),
            "allowed_mentions": allowed_mentions(rendered.mention_ids)}


def _channel_id(channel: Destination) -> int:
    return channel.id
