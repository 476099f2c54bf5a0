"""The command registry: the one source of truth for every desk command.

Each `CommandSpec` says what the command is called, its arguments, who may run it, whether it
changes the account (and so needs a confirmation), and its help. The parser, `/help`, Telegram's
command menus and Discord's slash-command tree are all generated from `REGISTRY`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from chatbot.config import ROLE_RANK


class ArgKind(StrEnum):
    ASSET = "asset"  # BTC, usdt (upper-cased)
    SYMBOL = "symbol"  # BTCUSDT
    AMOUNT = "amount"  # plain positive decimal
    AMOUNT_OR_ALL = "amount_or_all"
    PRICE = "price"
    DAYS = "days"  # 1..90
    DURATION = "duration"  # 90m, 24h, 2d, 30s
    WORD = "word"  # a member name, a role, a kind, an id
    FLAG = "flag"  # a literal word that switches something on, e.g. "isolated"
    TEXT = "text"  # the rest of the line


@dataclass(frozen=True)
class ArgSpec:
    name: str
    kind: ArgKind
    required: bool = True
    help: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommandSpec:
    name: str
    summary: str
    role: str  # minimum role: viewer | trader | admin ("requester" commands are trader+viewer)
    args: tuple[ArgSpec, ...] = ()
    example: str = ""
    aliases: tuple[str, ...] = ()
    mutating: bool = False  # changes the exchange account: needs a confirmation
    increases_risk: bool = False  # blocked by /halt, subject to approval policy
    paper_only: bool = False
    console_only: bool = False

    @property
    def usage(self) -> str:
        parts = [f"/{self.name}"]
        for a in self.args:
            token = a.name.upper() if a.kind is not ArgKind.FLAG else a.name
            parts.append(token if a.required else f"[{token}]")
        return " ".join(parts)

    def allows(self, role: str) -> bool:
        return ROLE_RANK.get(role, 0) >= ROLE_RANK[self.role]


A = ArgSpec
K = ArgKind

_SPECS: tuple[CommandSpec, ...] = (
    CommandSpec("status", "Margin level, band, distance to margin call and liquidation, balances", "viewer",
                (A("symbol", K.SYMBOL, False, "isolated account to show"),), "/status  or  /status BTCUSDT"),
    CommandSpec("borrow", "Borrow an asset into cross (or a pair's isolated account)", "trader",
                (A("asset", K.ASSET), A("amount", K.AMOUNT), A("symbol", K.SYMBOL, False)),
                "/borrow USDT 1000", mutating=True, increases_risk=True),
    CommandSpec("repay", "Repay a loan, interest first", "trader",
                (A("asset", K.ASSET), A("amount", K.AMOUNT_OR_ALL), A("symbol", K.SYMBOL, False)),
                "/repay USDT all", mutating=True),
    CommandSpec("long", "Buy on margin, borrowing the quote shortfall", "trader",
                (A("symbol", K.SYMBOL), A("qty", K.AMOUNT), A("isolated", K.FLAG, False)),
                "/long BTCUSDT 0.1", mutating=True, increases_risk=True),
    CommandSpec("short", "Borrow the base asset and sell it", "trader",
                (A("symbol", K.SYMBOL), A("qty", K.AMOUNT), A("isolated", K.FLAG, False)),
                "/short BTCUSDT 0.1", mutating=True, increases_risk=True),
    CommandSpec("close", "Buy back or sell out a position and repay its loan and interest", "trader",
                (A("symbol", K.SYMBOL), A("isolated", K.FLAG, False)), "/close BTCUSDT", mutating=True),
    CommandSpec("interest", "Accrued interest, history, hourly and daily cost, next 24 h", "viewer",
                (A("asset", K.ASSET, False), A("days", K.DAYS, False)), "/interest BTC 7"),
    CommandSpec("confirm", "Confirm your pending request (newest if no id)", "viewer",
                (A("id", K.WORD, False),), "/confirm 7f3a"),
    CommandSpec("cancel", "Cancel your pending request (newest if no id)", "viewer",
                (A("id", K.WORD, False),), "/cancel 7f3a"),
    CommandSpec("approve", "Approve a request waiting for an admin (oldest if no id)", "admin",
                (A("id", K.WORD, False),), "/approve 7f3a"),
    CommandSpec("reject", "Reject a request waiting for an admin", "admin",
                (A("id", K.WORD, False), A("reason", K.TEXT, False)), "/reject 7f3a too large"),
    CommandSpec("pending", "Requests waiting for confirmation or approval", "viewer", (), "/pending"),
    CommandSpec("halt", "Kill switch: block every leverage-increasing action", "admin",
                (A("reason", K.TEXT, False),), "/halt BTC flash crash"),
    CommandSpec("resume", "Lift the kill switch (a second admin must approve)", "admin", (), "/resume"),
    CommandSpec("members", "Desk members and their roles", "admin", (), "/members"),
    CommandSpec("grant", "Add a member or change a role", "admin",
                (A("name", K.WORD), A("role", K.WORD, choices=("viewer", "trader", "admin")),
                 A("id", K.WORD, False, "telegram:ID or discord:ID")),
                "/grant bob trader telegram:1234"),
    CommandSpec("revoke", "Remove a member added from chat", "admin", (A("name", K.WORD),), "/revoke bob"),
    CommandSpec("price", "Drill: set a paper price", "admin",
                (A("symbol", K.SYMBOL), A("price", K.PRICE)), "/price BTCUSDT 26000", paper_only=True),
    CommandSpec("clock", "Drill: advance the paper clock", "admin",
                (A("duration", K.DURATION),), "/clock 24h", paper_only=True),
    CommandSpec("ack", "Acknowledge a margin incident (stops escalation)", "trader",
                (A("id", K.WORD, False),), "/ack 3"),
    CommandSpec("subscribe", "Subscribe this channel to a kind of alert", "admin",
                (A("kind", K.WORD, choices=("margin", "interest", "approvals", "system")),
                 A("mode", K.WORD, False, choices=("on", "silent"))), "/subscribe margin"),
    CommandSpec("unsubscribe", "Stop a kind of alert in this channel", "admin",
                (A("kind", K.WORD, choices=("margin", "interest", "approvals", "system")),), "/unsubscribe interest"),
    CommandSpec("help", "What you can do here", "viewer", (A("command", K.WORD, False),), "/help borrow"),
    CommandSpec("as", "Console only: act as another desk member", "viewer", (A("name", K.WORD),),
                "/as bob", console_only=True),
)

REGISTRY: dict[str, CommandSpec] = {spec.name: spec for spec in _SPECS}
ALIASES: dict[str, str] = {alias: spec.name for spec in _SPECS for alias in spec.aliases}


def lookup(name: str) -> CommandSpec | None:
    key = name.lower()
    return REGISTRY.get(ALIASES.get(key, key))


def visible_to(role: str, *, platform: str = "console", paper: bool = True) -> list[CommandSpec]:
    """The commands a role may run on a platform: what help and the command menus list."""
    return [
        spec for spec in _SPECS
        if spec.allows(role)
        and (platform == "console" or not spec.console_only)
        and (paper or not spec.paper_only)
    ]
