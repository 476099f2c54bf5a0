"""Reference data that changes slowly, fetched once and kept: filters, margin pairs and assets, rates, bars, fees.

Why it exists: a `/status` or a monitor cycle should spend its request weight on the account,
not on re-reading exchangeInfo (weight 20) or the margin bars. Each item has a time-to-live
matched to how often Binance changes it (symbols and filters: hours; interest rates: minutes;
the account's bars: minutes, since `max-leverage` can change them), and concurrent first reads
share one request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from chatbot.exchange import SymbolInfo
from chatbot.margin import Thresholds

from . import wire
from .transport import Transport

T = TypeVar("T")
HOUR = 3600.0


class Cached(Generic[T]):
    """One value with a time-to-live; concurrent misses wait for the same fetch."""

    def __init__(self, ttl: float, load: Callable[[], Awaitable[T]]) -> None:
        self.ttl = ttl
        self.load = load
        self.value: T | None = None
        self.at = -1e18
        self.lock = asyncio.Lock()

    def fresh(self) -> bool:
        return self.value is not None and time.monotonic() - self.at < self.ttl

    async def get(self) -> T:
        if self.fresh():
            assert self.value is not None
            return self.value
        async with self.lock:
            if not self.fresh():
                self.value = await self.load()
                self.at = time.monotonic()
        assert self.value is not None
        return self.value


@dataclass(frozen=True)
class CrossRate:
    daily: Decimal
    borrowable: bool
    borrow_limit: Decimal


class Reference:
    def __init__(self, transport: Transport) -> None:
        self.t = transport
        c = transport.client
        self.symbols: Cached[dict[str, SymbolInfo]] = Cached(6 * HOUR, self._load_symbols)
        self.assets: Cached[dict[str, dict[str, Any]]] = Cached(6 * HOUR, self._load_assets)
        self.cross_rates: Cached[dict[str, CrossRate]] = Cached(600, self._load_cross_rates)
        self.cross_bars: Cached[Thresholds] = Cached(300, self._load_bars)
        self._per_symbol: dict[tuple[str, str], Cached[Any]] = {}
        self._client = c

    # ------------------------------------------------------------------ loaders

    async def _load_symbols(self) -> dict[str, SymbolInfo]:
        """Cross and isolated margin pairs, with exchangeInfo's filters."""
        info, pairs, isolated = await asyncio.gather(
            self.t.read(self._client.get_exchange_info, what="GET /api/v3/exchangeInfo"),
            self.t.read(self._client.get_margin_all_pairs, what="GET /sapi/v1/margin/allPairs"),
            self.t.read(self._client.get_all_isolated_margin_symbols, what="GET /sapi/v1/margin/isolated/allPairs"))
        return wire.symbols(info, [*pairs, *isolated])

    async def _load_assets(self) -> dict[str, dict[str, Any]]:
        rows = await self.t.read(self._client.get_margin_all_assets, what="GET /sapi/v1/margin/allAssets")
        return {r["assetName"]: r for r in rows}

    async def _load_cross_rates(self) -> dict[str, CrossRate]:
        rows = await self.t.read(self._client.get_cross_margin_data, what="GET /sapi/v1/margin/crossMarginData")
        return {r["coin"]: CrossRate(wire.opt_dec(r, "dailyInterest"), bool(r.get("borrowable", True)),
                                     wire.opt_dec(r, "borrowLimit")) for r in rows}

    async def _load_bars(self) -> Thresholds:
        coeff = await self.t.read(self._client.margin_v1_get_margin_trade_coeff,
                                  what="GET /sapi/v1/margin/tradeCoeff")
        return wire.cross_thresholds(coeff)

    def _cached(self, kind: str, symbol: str, ttl: float, load: Callable[[], Awaitable[Any]]) -> Cached[Any]:
        key = (kind, symbol)
        if key not in self._per_symbol:
            self._per_symbol[key] = Cached(ttl, load)
        return self._per_symbol[key]

    async def isolated_tiers(self, symbol: str) -> list[dict[str, Any]]:
        tiers: list[dict[str, Any]] = await self._cached("tier", symbol, HOUR, lambda: self.t.read(
            self._client.get_isolated_margin_tier_data, what="GET /sapi/v1/margin/isolatedMarginTier",
            symbol=symbol)).get()
        return tiers

    async def isolated_rates(self, symbol: str) -> dict[str, tuple[Decimal, Decimal]]:
        """coin -> (daily rate, borrow limit) for an isolated pair."""

        async def load() -> dict[str, tuple[Decimal, Decimal]]:
            rows = await self.t.read(self._client.get_isolated_margin_fee_data,
                                     what="GET /sapi/v1/margin/isolatedMarginData", symbol=symbol)
            out: dict[str, tuple[Decimal, Decimal]] = {}
            for row in rows:
                for d in row.get("data", ()):
                    out[d["coin"]] = (wire.opt_dec(d, "dailyInterest"), wire.opt_dec(d, "borrowLimit"))
            return out

        rates: dict[str, tuple[Decimal, Decimal]] = await self._cached("irate", symbol, 600, load).get()
        return rates

    async def taker_fee(self, symbol: str) -> Decimal:
        async def load() -> Decimal:
            rows = await self.t.read(self._client.get_trade_fee, what="GET /sapi/v1/asset/tradeFee", symbol=symbol)
            for row in rows:
                if row.get("symbol") == symbol:
                    return wire.dec(row["takerCommission"], "takerCommission")
            raise wire.WireError(f"no trade fee for {symbol}")

        fee: Decimal = await self._cached("fee", symbol, HOUR, load).get()
        return fee

    # ------------------------------------------------------------------ derived lookups

    async def symbol(self, name: str) -> SymbolInfo | None:
        return (await self.symbols.get()).get(name.upper())

    async def pricing_symbol(self, asset: str) -> tuple[str, str] | None:
        """How to value `asset` in USDT: (symbol, "direct") for ASSETUSDT, (symbol, "via BTC") for ASSETBTC."""
        table = await self.symbols.get()
        if f"{asset}USDT" in table:
            return f"{asset}USDT", "direct"
        if f"{asset}BTC" in table and "BTCUSDT" in table:
            return f"{asset}BTC", "via BTC"
        return None
