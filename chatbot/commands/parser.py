"""Turn one line of text into a validated command, or a typed error with a one-line hint.

Pure and total: any text gives either `ParsedCommand` or `ParseError`, never an exception.
Amounts are plain positive decimals within the asset's precision; symbols and assets are
ASCII, case-insensitive and must exist on the exchange.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from chatbot.commands.registry import ArgKind, ArgSpec, CommandSpec, lookup
from chatbot.exchange import SymbolInfo
from chatbot.money import AmountError, decimals_of, is_whole_number, parse_decimal

ASSET_DECIMALS = 8  # Binance's precision for margin assets
MAX_DAYS = 90
_TICKER = re.compile(r"^[A-Z0-9]{2,20}$")
_WORD = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_DURATION = re.compile(r"^(\d{1,6})([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_LINE = 500


@dataclass(frozen=True)
class Market:
    """What the parser needs to know about the exchange: its symbols and assets."""

    symbols: dict[str, SymbolInfo]

    @property
    def assets(self) -> set[str]:
        return {s.base for s in self.symbols.values()} | {s.quote for s in self.symbols.values()}


@dataclass(frozen=True)
class ParsedCommand:
    spec: CommandSpec
    args: dict[str, object] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class ParseError:
    message: str
    hint: str = ""
    command: str | None = None


def _example(spec: CommandSpec) -> str:
    return f"Usage: {spec.usage}   e.g. {spec.example}" if spec.example else f"Usage: {spec.usage}"


def parse(text: str, market: Market) -> ParsedCommand | ParseError:
    if not isinstance(text, str) or not text.strip():
        return ParseError("Empty command.", "Try /help")
    if len(text) > MAX_LINE:
        return ParseError("That line is too long.", "Try /help")
    tokens = text.strip().split()
    head = tokens[0]
    if not head.startswith("/"):
        return ParseError("Commands start with /.", "Try /help")
    name = head[1:].split("@", 1)[0]  # Telegram group form: /status@DeskBot
    spec = lookup(name) if name.isascii() else None
    if spec is None:
        return ParseError(f"Unknown command /{name[:20]}.", "Try /help")
    try:
        args = _bind(spec, tokens[1:], market)
    except _ArgError as exc:
        return ParseError(str(exc), _example(spec), spec.name)
    return ParsedCommand(spec.resolved(args), args)


def parse_named(name: str, values: Mapping[str, str | bool], market: Market) -> ParsedCommand | ParseError:
    """A command whose arguments arrive by name (Discord's slash options), validated slot by slot with
    exactly the checks typed text gets. Unknown names and missing required arguments are errors."""
    spec = lookup(name) if name.isascii() else None
    if spec is None:
        return ParseError(f"Unknown command /{name[:20]}.", "Try /help")
    known = {a.name for a in spec.args}
    extra = sorted(set(values) - known)
    if extra:
        return ParseError(f"Unexpected '{extra[0][:20]}'.", _example(spec), spec.name)
    args: dict[str, object] = {}
    try:
        for arg in spec.args:
            value = values.get(arg.name)
            if arg.kind is ArgKind.FLAG:
                args[arg.name] = value is True or (isinstance(value, str) and value.lower() in ("true", arg.name))
                continue
            text = value.strip() if isinstance(value, str) else ""
            if not text:
                if arg.required:
                    raise _ArgError(f"Missing {arg.name.upper()}.")
                continue
            if len(text) > MAX_LINE:
                raise _ArgError(f"{arg.name.upper()} is too long.")
            args[arg.name] = text[:200] if arg.kind is ArgKind.TEXT else _convert(arg, text, market, args)
    except _ArgError as exc:
        return ParseError(str(exc), _example(spec), spec.name)
    return ParsedCommand(spec.resolved(args), args)


class _ArgError(Exception):
    pass


def _bind(spec: CommandSpec, tokens: list[str], market: Market) -> dict[str, object]:
    args: dict[str, object] = {}
    rest = list(tokens)
    for arg in spec.args:
        if arg.kind is ArgKind.TEXT:
            if rest:
                args[arg.name] = " ".join(rest)[:200]
                rest = []
            continue
        if arg.kind is ArgKind.FLAG:
            if rest and rest[0].lower() == arg.name:
                args[arg.name] = True
                rest.pop(0)
            else:
                args[arg.name] = False
            continue
        if not rest:
            if arg.required:
                raise _ArgError(f"Missing {arg.name.upper()}.")
            continue
        if not arg.required and not _looks_like(arg, rest[0], market):
            continue
        args[arg.name] = _convert(arg, rest.pop(0), market, args)
    if rest:
        raise _ArgError(f"Unexpected '{rest[0][:20]}'.")
    return args


def _looks_like(arg: ArgSpec, token: str, market: Market) -> bool:
    """For optional positional args: does this token belong to this argument?"""
    up = token.upper()
    if arg.kind is ArgKind.SYMBOL:
        return up in market.symbols or (len(up) > 5 and _TICKER.match(up) is not None)
    if arg.kind is ArgKind.ASSET:
        return not token[:1].isdecimal()
    if arg.kind is ArgKind.DAYS:
        return is_whole_number(token)
    if arg.kind is ArgKind.QTY_OR_PCT:
        return token[:1].isascii() and (token[:1].isdigit() or token[:1] == ".")
    return True


def _convert(arg: ArgSpec, token: str, market: Market, bound: dict[str, object]) -> object:
    kind = arg.kind
    if kind in (ArgKind.ASSET, ArgKind.SYMBOL):
        up = token.upper()
        if not token.isascii() or not _TICKER.match(up):
            raise _ArgError(f"'{token[:20]}' is not a valid {kind.value}.")
        if kind is ArgKind.ASSET and up not in market.assets:
            raise _ArgError(f"Unknown asset {up}. Known: {', '.join(sorted(market.assets))}.")
        if kind is ArgKind.SYMBOL and up not in market.symbols:
            raise _ArgError(f"Unknown symbol {up}. Known: {', '.join(sorted(market.symbols))}.")
        return up
    if kind is ArgKind.AMOUNT_OR_ALL and token.lower() == "all":
        return "all"
    if kind is ArgKind.QTY_OR_PCT and token.endswith("%"):
        try:
            pct = parse_decimal(token[:-1])
        except AmountError as exc:
            raise _ArgError(f"{arg.name.upper()}: {exc}.") from None
        if pct > 100 or decimals_of(pct) > 2:
            raise _ArgError(f"{arg.name.upper()} {token} must be a percentage up to 100% with at most 2 decimals.")
        return f"{pct.normalize():f}%"
    if kind in (ArgKind.AMOUNT, ArgKind.AMOUNT_OR_ALL, ArgKind.PRICE, ArgKind.QTY_OR_PCT):
        try:
            value = parse_decimal(token)
        except AmountError as exc:
            raise _ArgError(f"{arg.name.upper()}: {exc}.") from None
        places = _allowed_places(arg, market, bound)
        if decimals_of(value) > places:
            raise _ArgError(f"{arg.name.upper()} {token} has more than {places} decimals.")
        if value > Decimal("1e15"):
            raise _ArgError(f"{arg.name.upper()} {token} is too large.")
        return value
    if kind is ArgKind.DAYS:
        if not is_whole_number(token) or not 1 <= int(token) <= MAX_DAYS:
            raise _ArgError(f"DAYS must be a whole number from 1 to {MAX_DAYS}.")
        return int(token)
    if kind is ArgKind.DURATION:
        match = _DURATION.match(token.lower())
        if not match or int(match.group(1)) == 0:
            raise _ArgError(f"'{token[:20]}' is not a duration like 90m, 24h or 2d.")
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        if seconds > 366 * 86400:
            raise _ArgError("Durations are limited to one year.")
        return seconds
    if kind is ArgKind.WORD:
        if not token.isascii() or not _WORD.match(token):
            raise _ArgError(f"'{token[:20]}' is not a valid {arg.name}.")
        if arg.choices and token.lower() not in arg.choices:
            raise _ArgError(f"{arg.name.upper()} must be one of: {', '.join(arg.choices)}.")
        return token.lower() if arg.choices else token
    raise _ArgError(f"Cannot read {arg.name}.")  # pragma: no cover


def _allowed_places(arg: ArgSpec, market: Market, bound: dict[str, object]) -> int:
    """Quantities of a symbol follow its LOT_SIZE step; prices its tick; assets 8 decimals."""
    symbol = bound.get("symbol")
    info = market.symbols.get(symbol) if isinstance(symbol, str) else None
    if info is not None and arg.name == "qty":
        return decimals_of(info.step_size.normalize())
    if info is not None and arg.kind is ArgKind.PRICE:
        return decimals_of(info.tick_size.normalize())
    return ASSET_DECIMALS
