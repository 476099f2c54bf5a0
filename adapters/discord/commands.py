"""Slash commands generated from the command registry, and the one way their options reach the core.

Nothing here is kept by hand: every registry command a desk member could be allowed to run on
Discord becomes an `app_commands.Command` whose options follow the registry's arguments in order
(required before optional, as Discord also insists), with the registry's help as descriptions,
its choices as Discord choices, and autocomplete for symbols and assets. Option types only carry
the value: amounts and prices are strings (Discord's number is a double; the desk's money is
exact decimal), DAYS an integer, flags a boolean, the rest strings. No value is checked here.

When a command runs, its options go to the core by name (`Request.args`), and the core validates
each in its slot with exactly the checks typed text gets (`chatbot.commands.parser.parse_named`):
one validation path, not two. The equivalent typed line (`/borrow USDT 1000`) goes along for the
audit log and the logs.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import discord
from discord import app_commands

from chatbot.commands.registry import REGISTRY, ArgKind, ArgSpec, CommandSpec, visible_to
from chatbot.config import ROLE_RANK

MAX_DESCRIPTION = 100
MAX_CHOICES = 25
OPTION_TYPES: dict[ArgKind, type] = {ArgKind.DAYS: int, ArgKind.FLAG: bool}
HINTS = {
    ArgKind.ASSET: "Asset, e.g. USDT", ArgKind.SYMBOL: "Symbol, e.g. BTCUSDT",
    ArgKind.AMOUNT: "Amount, a plain decimal like 1000 or 0.5", ArgKind.AMOUNT_OR_ALL: "Amount, or all",
    ArgKind.PRICE: "Price, a plain decimal", ArgKind.DAYS: "Number of days",
    ArgKind.DURATION: "Duration like 90m, 24h or 2d", ArgKind.FLAG: "Add the word {name}",
    ArgKind.WORD: "{Name}", ArgKind.TEXT: "{Name} (free text)",
}
CommandHandler = Callable[[discord.Interaction[Any], CommandSpec, dict[str, Any]], Awaitable[None]]
Completer = Callable[[discord.Interaction[Any], str], Awaitable[list[app_commands.Choice[str]]]]


def slash_specs(paper: bool) -> list[CommandSpec]:
    """Every command some role may run on Discord (the core authorizes each member), in registry order."""
    names = {spec.name for role in ROLE_RANK for spec in visible_to(role, platform="discord", paper=paper)}
    return [spec for spec in REGISTRY.values() if spec.name in names]


def command_line(spec: CommandSpec, values: Mapping[str, Any]) -> str:
    """The typed form of a slash command: options in the registry's order, omitted ones left out."""
    parts = [f"/{spec.name}"]
    for arg in spec.args:
        value = values.get(arg.name)
        if value is None or value is False:
            continue
        if arg.kind is ArgKind.FLAG:
            parts.append(arg.name)
            continue
        text = str(value).strip()
        if text:
            parts.append(text)
    return " ".join(parts)


def describe(arg: ArgSpec) -> str:
    text = arg.help or HINTS.get(arg.kind, "{Name}").format(name=arg.name, Name=arg.name.capitalize())
    return text[:MAX_DESCRIPTION]


def suggestions(names: Iterable[str], current: str) -> list[app_commands.Choice[str]]:
    """Up to 25 names: those starting with what was typed first, then those containing it."""
    typed = current.strip().upper()
    ranked = sorted(names, key=lambda n: (not n.upper().startswith(typed), n))
    return [app_commands.Choice(name=n, value=n) for n in ranked if typed in n.upper()][:MAX_CHOICES]


def build_command(spec: CommandSpec, handler: CommandHandler, *, complete_symbol: Completer,
                  complete_asset: Completer) -> app_commands.Command[Any, ..., None]:
    """One slash command. discord.py reads options from the callback's signature, so one is built."""

    async def callback(interaction: discord.Interaction[Any], **values: Any) -> None:
        await handler(interaction, spec, values)

    params = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                annotation=discord.Interaction)]
    for arg in spec.args:
        params.append(inspect.Parameter(arg.name, inspect.Parameter.KEYWORD_ONLY,
                                        annotation=OPTION_TYPES.get(arg.kind, str),
                                        default=inspect.Parameter.empty if arg.required else None))
    setattr(callback, "__signature__", inspect.Signature(params))  # noqa: B010 - read by inspect.signature
    callback.__name__ = callback.__qualname__ = f"slash_{spec.name}"
    setattr(callback, "__discord_app_commands_param_description__", {a.name: describe(a) for a in spec.args})  # noqa: B010
    choices = {a.name: [app_commands.Choice(name=c, value=c) for c in a.choices[:MAX_CHOICES]]
               for a in spec.args if a.choices}
    if choices:
        setattr(callback, "__discord_app_commands_param_choices__", choices)  # noqa: B010
    completers = {ArgKind.SYMBOL: complete_symbol, ArgKind.ASSET: complete_asset}
    autocomplete = {a.name: completers[a.kind] for a in spec.args if a.kind in completers and not a.choices}
    if autocomplete:
        setattr(callback, "__discord_app_commands_param_autocomplete__", autocomplete)  # noqa: B010
    return app_commands.Command(name=spec.name, description=spec.summary[:MAX_DESCRIPTION], callback=callback)


def raw_line(data: Mapping[str, Any] | None) -> str:
    """A command Discord knows but this tree does not (registered by an older build): its name and
    option values as sent, for the core to answer (usually "unknown command" or a usage hint)."""
    data = data or {}
    values = [str(o.get("value", "")) for o in data.get("options", []) if o.get("value") not in (None, False)]
    return " ".join([f"/{data.get('name', '')}", *values]).strip()
