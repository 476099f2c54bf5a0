"""Opening the live exchange: settings checked, then Binance's answers checked, before any trading call.

Why it exists: a live desk must refuse to start rather than trade with a dangerous or broken key.
In order, and each refusal is one `ConfigError` line naming the setting (the CLI prints it and
exits 2): the key, secret and base URL are set and well-formed; a persisted 418 ban has ended
(nothing is sent before); the server clock answers (the time offset is measured); the key's
restrictions (`GET /sapi/v1/account/apiRestrictions`) — withdrawals enabled, or no margin or
trading permission, is refused, as is a secret Binance rejects (-1022); then the reference data
the desk needs: symbol filters from exchangeInfo, margin pairs and assets, the margin bars.
`chatbot config check` runs the same checks.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import Engine

from chatbot.config import ConfigError, DeskConfig, Settings
from chatbot.exchange import ExchangeError, ExchangeNotReached, ExchangeUnavailable, RateLimited
from chatbot.redact import install_log_redaction

from .events import stream_root
from .exchange import BinanceExchange
from .gate import BanStore, RateGate
from .ledger import Consistency
from .transport import Timeouts, Transport, make_client

log = logging.getLogger(__name__)


class BinanceOptions(BaseSettings):
    """Adapter options from the environment (besides the key, secret and base URL in `chatbot.config`)."""

    model_config = SettingsConfigDict(env_prefix="BINANCE_", env_file=".env", extra="ignore")

    symbols: str = "BTCUSDT"  # the desk's pairs: their assets get rates, prices and max borrowable in /status
    allow_unrestricted_ip: bool = False  # accept a key without an IP allow-list (not recommended)
    max_clock_offset_ms: int = Field(default=500, ge=0)  # beyond this, writes pause until the clock is fixed

    @field_validator("symbols")
    @classmethod
    def _clean(cls, value: str) -> str:
        names = [s.strip().upper() for s in value.split(",") if s.strip()]
        if not names or not all(n.isalnum() for n in names):
            raise ValueError("BINANCE_SYMBOLS must be pairs like BTCUSDT,ETHUSDT")
        return ",".join(names)

    @property
    def pairs(self) -> tuple[str, ...]:
        return tuple(self.symbols.split(","))


@dataclass(frozen=True)
class Credentials:
    key: str
    secret: str
    base_url: str


def credentials(settings: Settings) -> Credentials:
    key = settings.binance_api_key.get_secret_value().strip() if settings.binance_api_key else ""
    secret = settings.binance_api_secret.get_secret_value().strip() if settings.binance_api_secret else ""
    if not key:
        raise ConfigError("BINANCE_API_KEY is not set: CHATBOT_EXCHANGE=binance needs an API key")
    if not secret:
        raise ConfigError("BINANCE_API_SECRET is not set: CHATBOT_EXCHANGE=binance needs the key's secret")
    url = settings.binance_api_base_url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment or \
            parts.path not in ("", "/") or any(c.isspace() for c in url):
        raise ConfigError(f"BINANCE_API_BASE_URL must be a root URL like https://api.binance.com, not {url!r}")
    return Credentials(key, secret, url.rstrip("/"))


def load_options() -> BinanceOptions:
    try:
        return BinanceOptions()
    except Exception as exc:  # pydantic ValidationError: one line
        raise ConfigError("BINANCE_SYMBOLS must be pairs like BTCUSDT,ETHUSDT") from exc


@dataclass(frozen=True)
class StartupReport:
    offset_ms: int
    symbols: int
    assets: int
    ip_restricted: bool
    clock_ok: bool


async def startup_checks(exchange: BinanceExchange, options: BinanceOptions) -> StartupReport:
    """Binance's side of the start-up checks; every failure is a one-line `ConfigError`."""
    t, client = exchange.t, exchange.client
    try:
        offset = await t.resync()
        restrictions = await t.read(client.get_account_api_permissions,
                                    what="GET /sapi/v1/account/apiRestrictions")
    except ExchangeNotReached as exc:
        raise ConfigError(f"BINANCE_API_BASE_URL: cannot reach Binance ({exc.msg})") from None
    except ExchangeUnavailable as exc:
        raise ConfigError(f"BINANCE_API_BASE_URL: Binance did not answer properly ({exc})") from None
    except RateLimited as exc:
        raise ConfigError(f"BINANCE_API_BASE_URL: {exc.msg}") from None
    except ExchangeError as exc:
        if exc.code == -1022:
            raise ConfigError("BINANCE_API_SECRET: Binance rejected the request signature (-1022): the secret does "
                              "not belong to BINANCE_API_KEY") from None
        if exc.code in (-2014, -2015) or exc.http_status == 401:
            raise ConfigError(f"BINANCE_API_KEY: Binance refused the key ({exc.code}: {exc.msg})") from None
        raise ConfigError(f"BINANCE_API_KEY: the key check failed ({exc.code}: {exc.msg})") from None
    if restrictions.get("enableWithdrawals"):
        raise ConfigError("BINANCE_API_KEY has withdrawals enabled: create a key with withdrawals disabled "
                          "(the bot never withdraws, and refuses a key that could)")
    if not restrictions.get("enableMargin"):
        raise ConfigError("BINANCE_API_KEY has no margin permission: enable Margin on the key (enableMargin)")
    if not restrictions.get("enableSpotAndMarginTrading"):
        raise ConfigError("BINANCE_API_KEY cannot trade: enable Spot & Margin Trading on the key")
    if not restrictions.get("ipRestrict"):
        if not options.allow_unrestricted_ip:
            raise ConfigError("BINANCE_API_KEY is not IP-restricted: allow only this server's IP on the key, or set "
                              "BINANCE_ALLOW_UNRESTRICTED_IP=true to accept the risk")
        log.warning("binance: the API key is not restricted to trusted IPs (BINANCE_ALLOW_UNRESTRICTED_IP=true)")
    if t.skewed:
        log.error("binance: this machine's clock is %.1f s off Binance's; trading stays paused until it is fixed",
                  offset / 1000)
    try:
        symbols = await exchange.ref.symbols.get()
        assets = await exchange.ref.assets.get()
        await exchange.ref.cross_bars.get()
        await exchange.ref.cross_rates.get()
    except (ExchangeError, ExchangeUnavailable) as exc:
        raise ConfigError(f"BINANCE_API_BASE_URL: could not read Binance's reference data ({exc})") from None
    missing = [s for s in exchange.desk_symbols if s not in symbols]
    if missing:
        raise ConfigError(f"BINANCE_SYMBOLS: {', '.join(missing)} is not a margin pair on Binance")
    exchange.desk_assets = {a for s in exchange.desk_symbols for a in (symbols[s].base, symbols[s].quote)}
    return StartupReport(offset, len(symbols), len(assets), bool(restrictions.get("ipRestrict")), not t.skewed)


async def connect(settings: Settings, *, engine: Engine | None, monitor_period: float = 30.0,
                  timeouts: Timeouts | None = None, consistency: Consistency | None = None,
                  options: BinanceOptions | None = None) -> tuple[BinanceExchange, StartupReport]:
    """Build the exchange and run the start-up checks; closes everything again if one fails."""
    if settings.chatbot_exchange != "binance":  # paper mode never builds a client that could send
        raise ConfigError(f"CHATBOT_EXCHANGE={settings.chatbot_exchange}: the Binance adapter opens only for "
                          "CHATBOT_EXCHANGE=binance")
    creds = credentials(settings)
    install_log_redaction([creds.key, creds.secret])
    opts = options or load_options()
    gate = RateGate(BanStore(engine) if engine is not None else None)
    ban = await asyncio.to_thread(gate.restore)  # a database read: off the event loop
    if ban is not None:
        until = datetime.fromtimestamp(ban.until, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        raise ConfigError(f"BINANCE_API_BASE_URL: Binance banned this IP (HTTP {ban.status}) until {until}; "
                          "nothing is sent before then")
    timeouts = timeouts or Timeouts()
    client = make_client(creds.key, creds.secret, creds.base_url, gate, timeouts)
    transport = Transport(client, gate, timeouts, max_offset_ms=opts.max_clock_offset_ms)
    exchange = BinanceExchange(transport, gate, desk_symbols=opts.pairs,
                               stream_root=stream_root(creds.base_url), monitor_period=monitor_period,
                               consistency=consistency)
    try:
        report = await startup_checks(exchange, opts)
    except BaseException:
        await exchange.close()
        raise
    log.info("binance: connected; clock offset %d ms, %d margin pairs", report.offset_ms, report.symbols)
    return exchange, report


async def open_exchange(engine: Engine, desk: DeskConfig, settings: Settings) -> BinanceExchange:
    """The adapter entry point `chatbot.runtime` looks up by name (`CHATBOT_EXCHANGE=binance`)."""
    exchange, _ = await connect(settings, engine=engine, monitor_period=float(desk.alerts.monitor_interval_seconds))
    return exchange


async def check_connection(settings: Settings, engine: Engine | None) -> str:
    """`chatbot config check` for CHATBOT_EXCHANGE=binance: the start-up checks, then a one-line summary."""
    exchange, report = await connect(settings, engine=engine)
    await exchange.close()
    restricted = "IP-restricted" if report.ip_restricted else "NOT IP-restricted (allowed by setting)"
    clock = "" if report.clock_ok else " — this machine's clock is too far off: trading would be paused (NTP)"
    return (f"key accepted (withdrawals disabled, margin enabled, {restricted}); clock offset "
            f"{report.offset_ms} ms{clock}; {report.symbols} margin pairs; desk pairs "
            f"{', '.join(exchange.desk_symbols)}")
