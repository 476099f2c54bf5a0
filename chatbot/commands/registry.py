"""The command registry: the one source of truth for every desk command.

Each `CommandSpec` says what the command is called, its arguments, who may run it, whether it
changes the exchange account (and so needs a confirmation) or the desk (and so must come fresh
from its sender), which button code presses it, and its help. The parser, `/help`, Telegram's
command menus and Discord's slash-command tree are generated from `REGISTRY`, and every handler
is bound to its spec here (`bind`), never found by a naming convention.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from chatbot.config import KINDS, ROLE_RANK, ROLES, Role

if TYPE_CHECKING:
    from chatbot.replies import Reply


class ArgKind(StrEnum):
    ASSET = "asset"  # BTC, usdt (upper-cased)
    SYMBOL = "symbol"  # BTCUSDT
    AMOUNT = "amount"  # plain positive decimal
    AMOUNT_OR_ALL = "amount_or_all"
    QTY_OR_PCT = "qty_or_pct"  # 0.5 (base quantity) or 50% (of the position)
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
    label: str = ""  # how usage spells it when the name cannot be a keyword ("from")


@dataclass(frozen=True)
class CommandSpec:
    name: str
    summary: str
    role: Role  # minimum role: viewer | trader | admin
    args: tuple[ArgSpec, ...] = ()
    example: str = ""
    aliases: tuple[str, ...] = ()
    mutating: bool = False  # changes the exchange account: needs a confirmation
    increases_risk: bool = False  # blocked by /halt, subject to approval policy
    changes_desk: bool = False  # changes desk state (an answer, membership, the kill switch …)
    button: str | None = None  # the code a button token starts with ("cf:<nonce>")
    paper_only: bool = False
    console_only: bool = False
    variant: CommandSpec | None = None  # the command this one becomes when `variant_arg` is given
    variant_arg: str = ""

    def resolved(self, args: dict[str, object]) -> CommandSpec:
        """`/price SYMBOL` quotes for everyone; `/price SYMBOL PRICE` is the admin's paper drill."""
        return self.variant if self.variant is not None and self.variant_arg in args else self

    @property
    def usage(self) -> str:
        parts = [f"/{self.name}"]
        for a in self.args:
            token = (a.label or a.name).upper() if a.kind is not ArgKind.FLAG else a.name
            parts.append(token if a.required else f"[{token}]")
        return " ".join(parts)

    @property
    def acts(self) -> bool:
        """Changes something: must come fresh from its sender (not edited, forwarded or stale)."""
        return self.mutating or self.changes_desk

    def allows(self, role: str) -> bool:
        return ROLE_RANK.get(role, 0) >= ROLE_RANK[self.role]


A = ArgSpec
K = ArgKind

PRICE_DRILL = CommandSpec("price", "Drill: set a paper price", "admin",
                          (A("symbol", K.SYMBOL, help="pair"), A("price", K.PRICE, help="new price")),
                          "/price BTCUSDT 26000", paper_only=True, changes_desk=True)

_SPECS: tuple[CommandSpec, ...] = (
    CommandSpec("status", "Margin level, band, distance to margin call and liquidation, balances", "viewer",
                (A("symbol", K.SYMBOL, False, "isolated account to show"),), "/status  or  /status BTCUSDT"),
    CommandSpec("borrow", "Borrow an asset into cross (or a pair's isolated account)", "trader",
                (A("asset", K.ASSET, help="asset to borrow"), A("amount", K.AMOUNT, help="how much"),
                 A("symbol", K.SYMBOL, False, "isolated account (default: cross)")),
                "/borrow USDT 1000", mutating=True, increases_risk=True),
    CommandSpec("repay", "Repay a loan, interest first", "trader",
                (A("asset", K.ASSET, help="asset to repay"), A("amount", K.AMOUNT_OR_ALL, help="how much, or all"),
                 A("symbol", K.SYMBOL, False, "isolated account (default: cross)")),
                "/repay USDT all", mutating=True),
    CommandSpec("long", "Buy on margin, borrowing the quote shortfall", "trader",
                (A("symbol", K.SYMBOL, help="pair to buy"), A("qty", K.AMOUNT, help="base quantity"),
                 A("isolated", K.FLAG, False, "trade in the pair's isolated account")),
                "/long BTCUSDT 0.1", mutating=True, increases_risk=True),
    CommandSpec("short", "Borrow the base asset and sell it", "trader",
                (A("symbol", K.SYMBOL, help="pair to sell"), A("qty", K.AMOUNT, help="base quantity"),
                 A("isolated", K.FLAG, False, "trade in the pair's isolated account")),
                "/short BTCUSDT 0.1", mutating=True, increases_risk=True),
    CommandSpec("close", "Close a position (or QTY or N% of it), repaying its loan in proportion", "trader",
                (A("symbol", K.SYMBOL, help="pair to close"),
                 A("qty", K.QTY_OR_PCT, False, "base quantity or N% (default: all)"),
                 A("isolated", K.FLAG, False, "close the pair's isolated account")),
                "/close BTCUSDT  or  /close BTCUSDT 50%", mutating=True),
    CommandSpec("transfer", "Move collateral between spot, cross and a pair's isolated account", "trader",
                (A("asset", K.ASSET, help="asset to move"), A("amount", K.AMOUNT, help="how much"),
                 A("source", K.WORD, help="from: spot, cross or a pair like BTCUSDT", label="from"),
                 A("target", K.WORD, help="to: spot, cross or a pair like BTCUSDT", label="to")),
                "/transfer USDT 500 spot cross", mutating=True, increases_risk=True),
    CommandSpec("order", "Limit, stop-loss or take-profit order on margin", "trader",
                (A("side", K.WORD, choices=("buy", "sell"), help="buy or sell"), A("symbol", K.SYMBOL, help="pair"),
                 A("qty", K.AMOUNT, help="base quantity"),
                 A("type", K.WORD, choices=("limit", "stop", "tp"), help="limit, stop (loss) or tp (take profit)"),
                 A("price", K.PRICE, help="limit price or trigger price"),
                 A("isolated", K.FLAG, False, "trade in the pair's isolated account")),
                "/order buy BTCUSDT 0.1 limit 30000", mutating=True, increases_risk=True),
    CommandSpec("oco", "Take profit at TP or stop at STOP, whichever comes first", "trader",
                (A("side", K.WORD, choices=("buy", "sell"), help="buy or sell"), A("symbol", K.SYMBOL, help="pair"),
                 A("qty", K.AMOUNT, help="base quantity"), A("tp", K.PRICE, help="take-profit (limit) price"),
                 A("stop", K.PRICE, help="stop-loss trigger price"),
                 A("isolated", K.FLAG, False, "trade in the pair's isolated account")),
                "/oco sell BTCUSDT 0.1 40000 30000", mutating=True, increases_risk=True),
    CommandSpec("orders", "Open orders, who placed them, and their ids", "viewer",
                (A("symbol", K.SYMBOL, False, "one pair"),), "/orders"),
    CommandSpec("cancelorder", "Cancel an open order (a whole OCO) by its id", "trader",
                (A("id", K.WORD, help="order id, see /orders"),), "/cancelorder 12", mutating=True),
    CommandSpec("positions", "Positions: entry, mark, P&L, margin call and liquidation prices, interest", "viewer",
                (A("symbol", K.SYMBOL, False, "one pair"),), "/positions"),
    CommandSpec("pnl", "Realized P&L per day (trading, fees, interest), unrealized, equity", "viewer",
                (A("days", K.DAYS, False, "window, 1-90 (default 7)"),), "/pnl 7"),
    CommandSpec("balance", "Every account (spot, cross, each isolated) in USDT, net", "viewer", (), "/balance"),
    CommandSpec("interest", "Accrued interest, history, hourly and daily cost, next 24 h", "viewer",
                (A("asset", K.ASSET, False, "one asset"), A("days", K.DAYS, False, "history window, 1-90")),
                "/interest BTC 7"),
    CommandSpec("confirm", "Confirm your pending request (newest if no id)", "viewer",
                (A("id", K.WORD, False, "the prompt's id"),), "/confirm 7f3a", changes_desk=True, button="cf"),
    CommandSpec("cancel", "Cancel your pending request (newest if no id)", "viewer",
                (A("id", K.WORD, False, "the prompt's id"),), "/cancel 7f3a", changes_desk=True, button="cx"),
    CommandSpec("approve", "Approve a request waiting for an admin (oldest if no id)", "admin",
                (A("id", K.WORD, False, "the request's id"),), "/approve 7f3a", changes_desk=True, button="ap"),
    CommandSpec("reject", "Reject a request waiting for an admin", "admin",
                (A("id", K.WORD, False, "the request's id"), A("reason", K.TEXT, False, "why")),
                "/reject 7f3a too large", changes_desk=True, button="rj"),
    CommandSpec("pending", "Requests waiting for confirmation or approval, or executing", "viewer", (), "/pending"),
    CommandSpec("halt", "Kill switch: block every leverage-increasing action", "admin",
                (A("reason", K.TEXT, False, "why"),), "/halt BTC flash crash", changes_desk=True),
    CommandSpec("resume", "Lift the kill switch (a second admin must approve)", "admin", (), "/resume",
                changes_desk=True),
    CommandSpec("members", "Desk members and their roles", "admin", (), "/members"),
    CommandSpec("grant", "Add a member or change a role (raising access needs a second admin)", "admin",
                (A("name", K.WORD, help="member name"), A("role", K.WORD, choices=ROLES, help="new role"),
                 A("id", K.WORD, False, "telegram:ID or discord:ID")),
                "/grant bob trader telegram:1234", changes_desk=True),
    CommandSpec("revoke", "Remove a member added from chat (their open requests end)", "admin",
                (A("name", K.WORD, help="member name"),), "/revoke bob", changes_desk=True),
    CommandSpec("policy", "The desk's approval bars, limits and prompt lifetimes", "viewer", (), "/policy"),
    CommandSpec("setpolicy", "Change a policy value (a second admin must approve)", "admin",
                (A("key", K.WORD, help="policy key, see /policy"), A("value", K.WORD, help="new value")),
                "/setpolicy approval_notional_usdt 25000", changes_desk=True),
    CommandSpec("price", "Current price and 24 h change (admins, paper: /price SYMBOL PRICE moves it)", "viewer",
                (A("symbol", K.SYMBOL, help="pair"), A("price", K.PRICE, False, "drill: new paper price (admin)")),
                "/price BTCUSDT", variant=PRICE_DRILL, variant_arg="price"),
    CommandSpec("clock", "Drill: advance the paper clock", "admin",
                (A("duration", K.DURATION, help="e.g. 90m, 24h, 2d"),), "/clock 24h", paper_only=True,
                changes_desk=True),
    CommandSpec("ack", "Acknowledge a margin incident (stops escalation)", "trader",
                (A("id", K.WORD, False, "incident number"),), "/ack 3", changes_desk=True, button="ak"),
    CommandSpec("subscribe", "Subscribe this channel to a kind of alert", "admin",
                (A("kind", K.WORD, choices=KINDS, help="alert kind"),
                 A("mode", K.WORD, False, choices=("on", "silent"), help="on or silent")), "/subscribe margin",
                changes_desk=True),
    CommandSpec("unsubscribe", "Stop a kind of alert in this channel", "admin",
                (A("kind", K.WORD, choices=KINDS, help="alert kind"),), "/unsubscribe interest", changes_desk=True),
    CommandSpec("help", "What you can do here", "viewer", (A("command", K.WORD, False, "one command"),),
                "/help borrow"),
    CommandSpec("as", "Console only: act as another desk member", "viewer", (A("name", K.WORD, help="member"),),
                "/as bob", console_only=True),
)

REGISTRY: dict[str, CommandSpec] = {spec.name: spec for spec in _SPECS}

HELP_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("See the account", ("status", "positions", "pnl", "balance", "interest", "price")),
    ("Trade", ("long", "short", "close", "borrow", "repay", "transfer")),
    ("Orders", ("order", "oco", "orders", "cancelorder")),
    ("Answer prompts", ("confirm", "cancel", "pending", "approve", "reject", "ack")),
    ("Run the desk", ("halt", "resume", "members", "grant", "revoke", "policy", "setpolicy", "subscribe",
                      "unsubscribe")),
    ("Drills and help", ("clock", "help", "as")),
)
"""`/help` lists commands by task, in this order; every command is in exactly one group."""
ALIASES: dict[str, str] = {alias: spec.name for spec in _SPECS for alias in spec.aliases}
BUTTONS: dict[str, CommandSpec] = {spec.button: spec for spec in _SPECS if spec.button}


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


# ---------------------------------------------------------------------------- buttons


def button_token(command: str, nonce: str) -> str:
    """The opaque token a button carries for `command` (≤ 64 bytes: fits Telegram's callback data)."""
    code = REGISTRY[command].button
    assert code is not None, f"/{command} has no button"
    return f"{code}:{nonce}"


def read_token(token: str) -> tuple[CommandSpec, str] | None:
    """The command a button token presses and the nonce it carries, or None for a foreign token."""
    code, sep, nonce = token.partition(":")
    spec = BUTTONS.get(code)
    if spec is None or not sep or not nonce or len(token) > 64:
        return None
    return spec, nonce


# ---------------------------------------------------------------------------- handlers

Handler = Callable[[Any, Any], Awaitable["Reply"]]
"""`async def handler(services, call) -> Reply` (types in `chatbot.services`)."""

HANDLERS: dict[str, Handler] = {}


def bind(name: str) -> Callable[[Handler], Handler]:
    """Bind a handler to the registry's command `name` (once)."""
    if name not in REGISTRY:
        raise KeyError(f"/{name} is not in the registry")

    def decorate(handler: Handler) -> Handler:
        if name in HANDLERS:
            raise KeyError(f"/{name} already has a handler")
        HANDLERS[name] = handler
        return handler

    return decorate
