"""The notifier bus: the core's own messages (approvals, alerts, summaries) to members and channels.

The core publishes a `Notice` of a kind (margin, interest, approvals, system). The bus delivers it
by direct message to the members it names, and to every channel subscribed to that kind on every
platform with a registered transport, `on` (normal) or `silent` (no notification sound). Channel
subscriptions come from the TOML `[[channels]]` and from `/subscribe` in a channel (database).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.engine import Engine

from chatbot.config import ChannelConfig
from chatbot.replies import Notice
from chatbot.store.db import session_scope
from chatbot.store.members import DeskMember, MemberStore
from chatbot.store.tables import ChannelSubscription

log = logging.getLogger(__name__)
MODES = ("on", "silent", "off")


class Transport(Protocol):
    """A chat platform's way out: implemented by each adapter."""

    platform: str

    async def send_to_member(self, member: DeskMember, notice: Notice) -> bool:
        """Deliver a DM; False when this platform cannot reach the member."""
        ...

    async def send_to_channel(self, channel_id: str, notice: Notice, *, silent: bool,
                              topic_id: int | None) -> None: ...


@dataclass(frozen=True)
class Subscription:
    platform: str
    channel_id: str
    kind: str
    mode: str
    topic_id: int | None = None


class SubscriptionStore:
    def __init__(self, engine: Engine, configured: list[ChannelConfig]) -> None:
        self.engine = engine
        self.configured = configured

    def all(self) -> list[Subscription]:
        subs: dict[tuple[str, str, str], Subscription] = {}
        for ch in self.configured:
            for kind, mode in ch.kinds.items():
                subs[(ch.platform, ch.id, kind)] = Subscription(ch.platform, ch.id, kind, mode, ch.topic_id)
        with session_scope(self.engine) as s:
            for row in s.execute(select(ChannelSubscription)).scalars():
                subs[(row.platform, row.channel_id, row.kind)] = Subscription(
                    row.platform, row.channel_id, row.kind, row.mode, row.topic_id)
        return list(subs.values())

    def set(self, platform: str, channel_id: str, kind: str, mode: str, topic_id: int | None = None) -> None:
        with session_scope(self.engine) as s:
            row = s.execute(select(ChannelSubscription).where(
                ChannelSubscription.platform == platform, ChannelSubscription.channel_id == channel_id,
                ChannelSubscription.kind == kind)).scalars().first()
            if row is None:
                row = ChannelSubscription(platform=platform, channel_id=channel_id, kind=kind, mode=mode)
            row.mode, row.topic_id = mode, topic_id
            s.add(row)


class Notifier:
    def __init__(self, members: MemberStore, subscriptions: SubscriptionStore) -> None:
        self.members = members
        self.subscriptions = subscriptions
        self.transports: dict[str, Transport] = {}
        self._on_register: list[Callable[[], None]] = []

    def register(self, transport: Transport) -> None:
        self.transports[transport.platform] = transport
        for hook in self._on_register:
            hook()

    def on_register(self, hook: Callable[[], None]) -> None:
        """Call `hook` whenever a platform's transport comes up (undelivered notices can go now)."""
        self._on_register.append(hook)

    def has_channel(self, kind: str) -> bool:
        """Some channel on a platform that is up is subscribed to `kind`."""
        return any(sub.kind == kind and sub.mode != "off" and sub.platform in self.transports
                   for sub in self.subscriptions.all())

    def unregister(self, platform: str) -> None:
        self.transports.pop(platform, None)

    async def publish(self, notice: Notice) -> int:
        """Deliver everywhere it should go; a failing platform is logged, never fatal. Returns deliveries."""
        delivered = 0
        for name in notice.to_members:
            member = self.members.get(name)
            if member is None:
                continue
            for transport in list(self.transports.values()):
                try:
                    if await transport.send_to_member(member, notice):
                        delivered += 1
                except Exception:
                    log.exception("could not deliver a %s notice to %s on %s", notice.kind, name,
                                  transport.platform)
        if notice.to_channels:
            for sub in self.subscriptions.all():
                if sub.kind != notice.kind or sub.mode == "off":
                    continue
                transport = self.transports.get(sub.platform)
                if transport is None:
                    continue
                try:
                    await transport.send_to_channel(sub.channel_id, notice, silent=sub.mode == "silent",
                                                    topic_id=sub.topic_id)
                    delivered += 1
                except Exception:
                    log.exception("could not deliver a %s notice to %s:%s", notice.kind, sub.platform,
                                  sub.channel_id)
        return delivered
