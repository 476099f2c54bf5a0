"""The Telegram adapter: python-telegram-bot handlers ⇄ core requests/replies, and the notifier transport."""

from adapters.telegram.bot import TelegramBot, WebhookConfig, build_application, run_telegram
from adapters.telegram.render import render
from adapters.telegram.transport import TelegramTransport

__all__ = ["TelegramBot", "TelegramTransport", "WebhookConfig", "build_application", "render", "run_telegram"]
