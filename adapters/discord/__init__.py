"""The Discord adapter: discord.py slash commands and buttons ⇄ core requests/replies, and the notifier transport."""

from adapters.discord.bot import DiscordBot, run_discord
from adapters.discord.buttons import DeskButton
from adapters.discord.render import render, render_single
from adapters.discord.transport import DiscordTransport

__all__ = ["DeskButton", "DiscordBot", "DiscordTransport", "render", "render_single", "run_discord"]
