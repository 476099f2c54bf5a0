"""The Discord front end: a real discord.py client that turns interactions into core calls.

Thin on purpose. The core identifies, authorizes, rate-limits, parses, refuses stale commands,
dedups by event id and audits; this module only
- generates the slash commands from the registry and syncs them (to one guild, or globally);
- answers every interaction within Discord's 3 s before asking the core anything: a slash command
  is deferred ("thinking") and then edited into the reply, or, when the reply is an error, the
  thinking message is deleted and the error sent privately (ephemeral); a button press is
  deferred as an update and then edits the prompt to the outcome and removes its buttons, or,
  on an error ("not your prompt", expired), answers privately and leaves the prompt alone;
- turns a press of a `DeskButton` (any message, any earlier run) into `core.press(token, …)`, with
  the interaction's creation time (read from its snowflake id) so the core refuses a press
  delivered late, as it refuses an old slash command;
- registers the notifier transport while it serves.

Entry points: `run_discord(core, settings, stop_event)` for `chatbot run`, and `DiscordBot` (an
async context manager) for tests and benchmarks. discord.py has no per-client endpoint setting:
the REST base (`Route.BASE`) and gateway (`DiscordWebSocket.DEFAULT_GATEWAY`) are class
attributes, set when the bot starts and restored when it stops (one bot per process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.buttons import DeskButton, view_kwargs
from adapters.discord.commands import build_command, command_line, raw_line, slash_specs, suggestions
from adapters.discord.render import allowed_mentions, first_title, render, render_single
from adapters.discord.transport import DiscordTransport, edit_kwargs
from chatbot.commands.registry import CommandSpec
from chatbot.config import ConfigError, Settings
from chatbot.core import DeskCore
from chatbot.redact import install_log_redaction
from chatbot.replies import Actor, Reply, Request, Severity
from chatbot.workers import off_loop

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"


class DeskClient(discord.Client):
    """discord.Client with the desk's hooks. Interactions need no gateway intent; GUILDS keeps
    discord.py's guild and channel cache sound (no privileged intent is asked for)."""

    def __init__(self, bot: DiscordBot) -> None:
        super().__init__(intents=discord.Intents(guilds=True), allowed_mentions=discord.AllowedMentions.none(),
                         max_messages=None)
        self.bot = bot

    async def setup_hook(self) -> None:
        await self.bot.setup()

    async def on_connect(self) -> None:
        self.bot.connected.set()

    async def on_desk_press(self, interaction: discord.Interaction[Any], token: str) -> None:
        await self.bot.on_press(interaction, token)


class DiscordBot:
    """One desk's Discord bot: `async with DiscordBot(core, token, api_base_url=…) as bot: …`."""

    def __init__(self, core: DeskCore, token: str, *, api_base_url: str = DEFAULT_API_BASE_URL,
                 gateway_url: str = DEFAULT_GATEWAY_URL, guild_id: int | None = None,
                 connect_timeout: float = 30.0, drain_timeout: float = 5.0) -> None:
        install_log_redaction([token])  # with its pieces and Discord's interaction-token shapes
        self.core = core
        self._token = token
        self.api_base_url = api_base_url.rstrip("/")
        self.gateway_url = yarl.URL(gateway_url)
        self.guild = discord.Object(guild_id) if guild_id else None
        self.connect_timeout = connect_timeout
        self.drain_timeout = drain_timeout
        self.client = DeskClient(self)
        self.tree: app_commands.CommandTree[DeskClient] = app_commands.CommandTree(self.client)
        self.tree.error(self._on_tree_error)
        self._mentions: dict[str, int] = {}
        self._unwatch_members: Callable[[], None] | None = None
        self.transport = DiscordTransport(self.client, mentions=self._mention_ids)
        self.synced: list[app_commands.AppCommand] = []
        self.connected = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        self._saved_endpoints: tuple[str, yarl.URL] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """login (user, application) → slash commands synced → gateway READY → notifier transport."""
        self._point_at_endpoints()
        try:
            await self.client.login(self._token)
            self._runner = asyncio.create_task(self.client.connect(reconnect=True), name="discord-gateway")
            ready = asyncio.create_task(self.connected.wait())
            await asyncio.wait({ready, self._runner}, timeout=self.connect_timeout,
                               return_when=asyncio.FIRST_COMPLETED)
            if not ready.done():
                ready.cancel()
                if self._runner.done():
                    self._runner.result()  # the gateway's own error (a bad token: 4004 …)
                    raise ConnectionError("the Discord gateway closed before READY")
                raise TimeoutError(f"no READY from the Discord gateway within {self.connect_timeout:g} s")
            await self._refresh_mentions()
            self._unwatch_members = self.core.members.on_change(self._mentions_changed)
            self.core.notifier.register(self.transport)
        except BaseException:
            await self._shutdown()
            raise

    async def _refresh_mentions(self) -> None:
        members = await off_loop(self.core.members.all)  # the database, off the event loop
        self._mentions = {m.name: m.discord_id for m in members if m.discord_id is not None}

    def _mentions_changed(self) -> None:
        task = asyncio.get_running_loop().create_task(self._refresh_mentions())
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def setup(self) -> None:
        """Called by discord.py after login: persistent buttons, then the command tree, synced."""
        self.client.add_dynamic_items(DeskButton)
        for spec in slash_specs(self.core.paper):
            command = build_command(spec, self.on_command, complete_symbol=self._complete_symbol,
                                    complete_asset=self._complete_asset)
            self.tree.add_command(command, guild=self.guild)
        self.synced = await self.tree.sync(guild=self.guild)

    async def serve_until(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; raises if the gateway connection ends on its own (a revoked token …)."""
        assert self._runner is not None, "start() first"
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({stopper, self._runner}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if self._runner.done() and not stop.is_set():
            self._runner.result()
            raise ConnectionError("the Discord gateway connection ended")

    async def stop(self) -> None:
        await self.core.notifier.drain()  # notices already posted still go out on this platform
        if self.core.notifier.transports.get(self.transport.platform) is self.transport:
            await self.core.notifier.unregister(self.transport.platform)
        await self._shutdown()

    async def _shutdown(self) -> None:
        """Let interactions in flight finish (bounded), then close the gateway and the HTTP session."""
        if self._unwatch_members is not None:
            self._unwatch_members()
            self._unwatch_members = None
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=self.drain_timeout)
        await self.client.close()
        if self._runner is not None:
            try:
                await asyncio.wait_for(self._runner, 5)
            except Exception as exc:  # already reported by start() or serve_until()
                log.debug("the Discord gateway task ended with %s", type(exc).__name__)
        self._restore_endpoints()

    async def __aenter__(self) -> DiscordBot:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _point_at_endpoints(self) -> None:
        if self._saved_endpoints is None:
            self._saved_endpoints = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        Route.BASE = self.api_base_url
        DiscordWebSocket.DEFAULT_GATEWAY = self.gateway_url

    def _restore_endpoints(self) -> None:
        if self._saved_endpoints is not None:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._saved_endpoints
            self._saved_endpoints = None

    # ------------------------------------------------------------------ slash commands

    async def on_command(self, interaction: discord.Interaction[Any], spec: CommandSpec,
                         values: dict[str, Any]) -> None:
        named = {k: v if isinstance(v, bool) else str(v) for k, v in values.items() if v is not None}
        await self.serve(interaction, command_line(spec, values), args=named)

    async def serve(self, interaction: discord.Interaction[Any], text: str,
                    args: dict[str, str | bool] | None = None) -> None:
        """Acknowledge first (Discord's 3 s), then ask the core, then show its reply."""
        with self._tracked():
            if not await self._acknowledge(interaction, interaction.response.defer(thinking=True)):
                return
            reply = await self.core.handle(Request(
                actor=Actor("discord", str(interaction.user.id)), text=text,
                chat_id=str(interaction.channel_id) if interaction.channel_id else None,
                event_id=f"dc:{interaction.id}", sent_at=interaction.created_at, args=args))
            try:
                await self._show(interaction, reply)
            except discord.HTTPException as exc:
                log.warning("could not answer /%s: %s", text[1:].split(" ", 1)[0], exc)

    async def _show(self, interaction: discord.Interaction[Any], reply: Reply) -> None:
        if reply.duplicate:  # delivered twice; the first delivery answered
            await interaction.delete_original_response()
            return
        if reply.severity is Severity.ERROR:  # privately; the thinking message goes away
            await interaction.delete_original_response()
            for part in render(reply).parts:
                await interaction.followup.send(embeds=list(part.embeds), ephemeral=True,
                                                allowed_mentions=allowed_mentions(()))
            return
        rendered = render(reply, mentions=self._mention_ids() if reply.mentions else None)
        first, last = rendered.parts[0], len(rendered.parts) - 1
        await interaction.edit_original_response(
            content=first.content, embeds=list(first.embeds), allowed_mentions=rendered.allowed_mentions,
            **view_kwargs(rendered.actions if last == 0 else ()))
        for i, part in enumerate(rendered.parts[1:], 1):
            extra: dict[str, Any] = {**({"content": part.content} if part.content else {}),
                                     **view_kwargs(rendered.actions if i == last else ())}
            await interaction.followup.send(embeds=list(part.embeds), allowed_mentions=rendered.allowed_mentions,
                                            **extra)

    async def _complete_symbol(self, interaction: discord.Interaction[Any], current: str) -> list[
            app_commands.Choice[str]]:
        return suggestions(self.core.market.symbols, current)

    async def _complete_asset(self, interaction: discord.Interaction[Any], current: str) -> list[
            app_commands.Choice[str]]:
        return suggestions(self.core.market.assets, current)

    async def _on_tree_error(self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
        stale = isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch)
        if stale and interaction.type is discord.InteractionType.application_command:
            # Registered by another build of the bot: the core answers it like typed text.
            await self.serve(interaction, raw_line(interaction.data))
            return
        log.error("Discord interaction %s failed", interaction.id, exc_info=error)

    # ------------------------------------------------------------------ buttons

    async def on_press(self, interaction: discord.Interaction[Any], token: str) -> None:
        with self._tracked():
            if not await self._acknowledge(interaction, interaction.response.defer()):
                return
            reply = await self.core.press(token, Actor("discord", str(interaction.user.id)),
                                          event_id=f"dc:{interaction.id}", sent_at=interaction.created_at)
            if reply.duplicate:
                return
            try:
                if reply.severity is Severity.ERROR:  # not your prompt, expired …: the prompt stays
                    part = render_single(reply).parts[0]
                    await interaction.followup.send(embeds=list(part.embeds), ephemeral=True,
                                                    allowed_mentions=allowed_mentions(()))
                    return
                rendered = render_single(reply, mentions=self._mention_ids() if reply.mentions else None,
                                         header=first_title(interaction.message))
                await interaction.edit_original_response(**edit_kwargs(rendered))
            except discord.HTTPException as exc:
                log.warning("could not show the outcome of a button press: %s", exc)

    # ------------------------------------------------------------------ helpers

    async def _acknowledge(self, interaction: discord.Interaction[Any], call: Awaitable[Any]) -> bool:
        try:
            await call
        except discord.NotFound:
            log.warning("interaction %s expired before it was acknowledged (Discord allows 3 s)", interaction.id)
            return False
        except discord.HTTPException as exc:
            log.warning("could not acknowledge interaction %s: %s", interaction.id, exc)
            return False
        return True

    @contextlib.contextmanager
    def _tracked(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._inflight.discard(task)

    def _mention_ids(self) -> Mapping[str, int]:
        return self._mentions  # loaded at start, refreshed on every grant or revoke


async def run_discord(core: DeskCore, settings: Settings, stop_event: asyncio.Event) -> None:
    """For `chatbot run`: serve the desk on Discord until `stop_event` is set, then stop cleanly."""
    if settings.discord_bot_token is None or not settings.discord_bot_token.get_secret_value():
        raise ConfigError("DISCORD_BOT_TOKEN is not set")
    bot = DiscordBot(core, settings.discord_bot_token.get_secret_value(), api_base_url=settings.discord_api_base_url,
                     gateway_url=settings.discord_gateway_url, guild_id=settings.discord_guild_id)
    async with bot:
        where = f"guild {settings.discord_guild_id}" if settings.discord_guild_id else "globally"
        log.info("Discord bot %s is serving the desk (%d slash commands synced %s)", bot.client.user,
                 len(bot.synced), where)
        await bot.serve_until(stop_event)
