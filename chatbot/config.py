"""Configuration: deployment settings and secrets from the environment, desk policy from TOML.

Two sources with two jobs:
- `Settings` (pydantic-settings): where things are and the secrets, from env vars / `.env`.
- `DeskConfig` (TOML at `CHATBOT_CONFIG`): who is on the desk and the desk's rules. Amounts and
  prices in TOML are strings parsed to Decimal; a float literal is an error.

`load()` returns both, or raises `ConfigError` with one line naming the key and the problem.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import quote

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from chatbot.money import AmountError, parse_decimal
from chatbot.workers import DEFAULT_WORKERS

DEFAULT_DATABASE_URL = "sqlite:///chatbot.db"
DEFAULT_CONFIG_PATH = Path("chatbot.toml")


class ConfigError(Exception):
    """A bad setting. `str()` is one line: where, which key, what is wrong."""


# ---------------------------------------------------------------------------- value types


def _strict_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (bool, float)):
        raise ValueError(f'amounts must be quoted strings like "0.001", not {value!r}')
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return parse_decimal(value, allow_zero=True)
        except AmountError as exc:
            raise ValueError(str(exc)) from exc
    raise ValueError(f"expected a decimal string, got {type(value).__name__}")


Amount = Annotated[Decimal, BeforeValidator(_strict_decimal)]
"""A non-negative Decimal from a TOML string (or int); floats are refused."""


def _utc_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        raise ValueError("expected an ISO-8601 time like 2024-01-01T00:00:00Z")
    if dt.tzinfo is None:
        raise ValueError("times must carry a timezone (use Z for UTC)")
    return dt.astimezone(UTC)


UtcDatetime = Annotated[datetime, BeforeValidator(_utc_datetime)]

Role = Literal["viewer", "trader", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)  # lowest to highest: the one list of roles
ROLE_RANK: dict[str, int] = {role: rank for rank, role in enumerate(ROLES, start=1)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------- desk TOML


class MemberConfig(_Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    role: Role
    telegram_id: int | None = None
    discord_id: int | None = None
    max_leverage: Amount | None = None  # above this, leverage changes need approval


class SymbolConfig(_Strict):
    base: str
    quote: str
    step_size: Amount = Decimal("0.00001")
    tick_size: Amount = Decimal("0.01")
    min_qty: Amount = Decimal("0.00001")
    min_notional: Amount = Decimal("5")


class PaperConfig(_Strict):
    """Starting state and rules of the paper exchange (every [choice] of the reference is here)."""

    start_time: UtcDatetime = datetime(2024, 1, 1, tzinfo=UTC)
    clock: Literal["manual", "realtime"] = "manual"
    price_feed: Literal["static", "random_walk", "replay"] = "static"
    replay_file: Path | None = None
    random_walk_seed: int = 7
    random_walk_step_seconds: float = Field(default=5.0, gt=0)
    random_walk_volatility: Amount = Decimal("0.002")  # std-dev of one step, as a fraction
    taker_fee: Amount = Decimal("0.001")
    maker_fee: Amount = Decimal("0.001")
    max_leverage: Literal[3, 5] = 3
    isolated_leverage: dict[str, Literal[3, 5, 10]] = Field(default_factory=dict)
    default_isolated_leverage: Literal[3, 5, 10] = 10
    liquidation_mode: Literal["to_initial", "full"] = "to_initial"
    liquidation_fee: Amount = Decimal("0.02")
    allow_auto_borrow_repay: bool = True
    auto_repay_at_cancel_default: bool = True
    async_loans: bool = False
    prices: dict[str, Amount] = Field(default_factory=lambda: {"BTCUSDT": Decimal("35000")})
    daily_interest_rates: dict[str, Amount] = Field(
        default_factory=lambda: {"BTC": Decimal("0.00024"), "USDT": Decimal("0.00024")}
    )
    borrow_limits: dict[str, Amount] = Field(default_factory=dict)
    system_inventory: dict[str, Amount] = Field(default_factory=dict)
    min_borrow: dict[str, Amount] = Field(default_factory=dict)
    symbols: dict[str, SymbolConfig] = Field(default_factory=dict)
    spot: dict[str, Amount] = Field(default_factory=dict)
    cross: dict[str, Amount] = Field(default_factory=dict)
    isolated: dict[str, dict[str, Amount]] = Field(default_factory=dict)

    @field_validator("prices", "cross", "spot", "daily_interest_rates")
    @classmethod
    def _upper_keys(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        return {k.upper(): v for k, v in value.items()}


class PolicyConfig(_Strict):
    """When a leverage change needs a second pair of eyes, and how long prompts live."""

    confirm_ttl_seconds: int = Field(default=60, gt=0)
    approval_ttl_seconds: int = Field(default=900, gt=0)
    approval_notional_usdt: Amount = Decimal("50000")  # notional above this needs an admin
    approval_margin_level: Amount = Decimal("1.5")  # projected ML below this needs an admin
    min_margin_level: Amount = Decimal("1.25")  # projected ML below this is refused outright
    default_max_leverage: Amount = Decimal("3")  # members' leverage limit unless set per member
    rate_limit_per_minute: int = Field(default=30, gt=0)
    stale_command_seconds: int = Field(default=30, gt=0)
    preview_tolerance_pct: Amount = Decimal("1")  # at execution, a preview that moved more is asked again


class AlertsConfig(_Strict):
    monitor_interval_seconds: int = Field(default=30, gt=0)
    warn_level: Amount = Decimal("1.5")
    hysteresis: Amount = Decimal("0.05")
    repeat_interval_seconds: int = Field(default=1800, gt=0)
    escalate_after_seconds: int = Field(default=600, gt=0)
    interest_summary_time: time = time(0, 5)
    misfire_grace_seconds: int = Field(default=3600, gt=0)
    lease_seconds: int = Field(default=15, gt=1)


Mode = Literal["on", "silent", "off"]
Kind = Literal["margin", "approvals", "system", "interest"]
KINDS: tuple[str, ...] = get_args(Kind)  # every kind of notice the bot sends, most urgent first: the one list


class ChannelConfig(_Strict):
    platform: Literal["console", "telegram", "discord"]
    id: str = "console"
    topic_id: int | None = None
    kinds: dict[Kind, Mode] = Field(default_factory=dict)


class AuditConfig(_Strict):
    anchor_minutes: int = Field(default=60, gt=0)  # how often the audit log's head is anchored outside the DB


class DeskConfig(_Strict):
    members: list[MemberConfig] = Field(default_factory=list)
    paper: PaperConfig = Field(default_factory=PaperConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    channels: list[ChannelConfig] = Field(default_factory=list)
    audit: AuditConfig = Field(default_factory=AuditConfig)

    @model_validator(mode="after")
    def _unique_members(self) -> DeskConfig:
        seen: dict[tuple[str, object], str] = {}
        for m in self.members:
            for key, value in (("name", m.name.lower()), ("telegram_id", m.telegram_id),
                               ("discord_id", m.discord_id)):
                if value is None:
                    continue
                if (key, value) in seen:
                    raise ValueError(f"duplicate member {key} {value!r} ({seen[(key, value)]} and {m.name})")
                seen[(key, value)] = m.name
        return self


# ---------------------------------------------------------------------------- environment


class Settings(BaseSettings):
    """Deployment settings and secrets (env vars or `.env`)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    chatbot_database_url: str = DEFAULT_DATABASE_URL
    chatbot_config: Path | None = None
    chatbot_exchange: Literal["paper", "binance"] = "paper"
    chatbot_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    chatbot_audit_key: SecretStr | None = None
    chatbot_audit_key_file: Path = Path("audit.key")
    chatbot_audit_anchor_file: Path = Path("audit-anchors.jsonl")
    chatbot_workers: int = Field(default=DEFAULT_WORKERS, ge=1, le=64)  # requests handled at once, off the event loop
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_send_limiter: Literal["on", "off"] = "on"  # off only for load tests against a fake server
    discord_bot_token: SecretStr | None = None
    discord_api_base_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg/"
    discord_guild_id: int | None = None
    binance_api_key: SecretStr | None = None
    binance_api_secret: SecretStr | None = None
    binance_api_base_url: str = "https://api.binance.com"

    @field_validator("chatbot_database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except (ArgumentError, ValueError):
            raise ValueError("not a database URL; use sqlite:///path/desk.db or "
                             "postgresql+psycopg://user:password@host:5432/db") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(f"{url.get_backend_name()} is not supported; use sqlite or postgresql")
        return value

    def secrets(self) -> list[str]:
        """Every secret value set, for redaction: tokens, keys, and the database password."""
        values = [self.telegram_bot_token, self.discord_bot_token, self.binance_api_key,
                  self.binance_api_secret, self.chatbot_audit_key]
        found = [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]
        password = database_password(self.chatbot_database_url)
        if password:  # as given and as it appears inside a URL
            found += [password, quote(password, safe="")]
        return found

    def effective(self) -> dict[str, str]:
        """What `chatbot config check` prints: every setting, secrets as ***."""
        out: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name.upper()] = "***"
            elif name == "chatbot_database_url":
                out[name.upper()] = safe_database_url(value)
            else:
                out[name.upper()] = "" if value is None else str(value)
        return out


def database_password(url: str) -> str | None:
    """The password in a database URL, if any (for redaction)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        password = make_url(url).password
        return None if password is None else str(password)
    except (ArgumentError, ValueError):
        return None


def safe_database_url(url: str) -> str:
    """The database URL with its password as ***."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(not a database URL)"


# ---------------------------------------------------------------------------- loading


def _describe(exc: ValidationError, source: str) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    if source == "environment":
        loc = loc.upper()  # the variable's name, as set
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    return f"{source}: {loc}: {msg}"


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(_describe(exc, "environment")) from None


def config_path(settings: Settings) -> Path | None:
    if settings.chatbot_config is not None:
        return settings.chatbot_config
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.exists() else None


def load_desk(path: Path | None) -> DeskConfig:
    """Read and validate the desk TOML; no file means an empty desk with defaults."""
    if path is None:
        return DeskConfig()
    if not path.is_file():
        raise ConfigError(f"{path}: file not found (set CHATBOT_CONFIG or create it)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        return DeskConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, str(path))) from None


def load() -> tuple[Settings, DeskConfig]:
    settings = load_settings()
    return settings, load_desk(config_path(settings))
