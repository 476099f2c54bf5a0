"""Margin accounts as the core sees them: Binance's cross and isolated account answers → `AccountSnapshot`.

Why it exists: the snapshot behind `/status`, every preview and every alert must carry Binance's
own figures — balances, the margin level Binance computes (999 with no debt), the account's own
bars (tradeCoeff for cross, the pair's tier for isolated) — plus USDT prices for the assets, taken
from Binance's margin price index (what Binance values margin with). Prices are fetched at the
same time as the account (one round trip for both), for the assets held the last time and the
desk's pairs. Also here: the max-borrowable figure derived from those same numbers (§5.5 of the
reference: CML > initial ratio, capped by the VIP borrow limit).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from chatbot import margin
from chatbot.exchange import AccountSnapshot, AssetBalance, ExchangeError, RateLimited, SymbolInfo
from chatbot.margin import Band, Thresholds

from . import wire
from .reference import Reference
from .transport import Transport

log = logging.getLogger(__name__)
D0 = Decimal(0)
D1 = Decimal(1)
VALUATION = "USDT"


def balance(row: wire.Json) -> AssetBalance:
    return AssetBalance(wire.field(row, "asset"), wire.opt_dec(row, "free"), wire.opt_dec(row, "locked"),
                        wire.opt_dec(row, "borrowed"), wire.opt_dec(row, "interest"))


def _in_use(b: AssetBalance) -> bool:
    return bool(b.free or b.locked or b.borrowed or b.interest)


class Valuation:
    """USDT prices of assets from Binance's margin price index, fetched concurrently."""

    def __init__(self, transport: Transport, reference: Reference) -> None:
        self.t = transport
        self.ref = reference

    async def index(self, symbol: str) -> Decimal:
        row = await self.t.read(self.t.client.get_margin_price_index, what="GET /sapi/v1/margin/priceIndex",
                                symbol=symbol)
        return wire.dec(wire.field(row, "price"), "price")

    async def usdt_prices(self, assets: Iterable[str]) -> dict[str, Decimal]:
        routes: dict[str, tuple[str, str]] = {}
        for asset in set(assets) - {VALUATION}:
            route = await self.ref.pricing_symbol(asset)
            if route is not None:
                routes[asset] = route
        symbols = sorted({sym for sym, _ in routes.values()} | ({"BTCUSDT"} if any(
            how == "via BTC" for _, how in routes.values()) else set()))
        answers = await asyncio.gather(*(self.index(s) for s in symbols), return_exceptions=True)
        quotes: dict[str, Decimal] = {}
        for sym, answer in zip(symbols, answers, strict=True):
            if isinstance(answer, ExchangeError) and not isinstance(answer, RateLimited):
                log.warning("binance: no price index for %s (%s); it is left unvalued", sym, answer.code)
            elif isinstance(answer, BaseException):
                raise answer
            else:
                quotes[sym] = answer
        out = {VALUATION: D1}
        for asset, (sym, how) in routes.items():
            if sym in quotes and (how == "direct" or "BTCUSDT" in quotes):
                out[asset] = quotes[sym] if how == "direct" else quotes[sym] * quotes["BTCUSDT"]
        return out


def _totals(assets: Iterable[AssetBalance], prices: dict[str, Decimal]) -> tuple[Decimal, Decimal]:
    total = liab = D0
    for b in assets:
        price = prices.get(b.asset, D0)
        total += b.total * price
        liab += b.liability * price
    return total, liab


def cross_snapshot(raw: wire.Json, prices: dict[str, Decimal], bars: Thresholds, now: datetime) -> AccountSnapshot:
    assets = tuple(sorted((balance(r) for r in raw.get("userAssets", ()) if _in_use(balance(r))),
                          key=lambda b: b.asset))
    total, liab = _totals(assets, prices)
    level = wire.dec(raw["marginLevel"], "marginLevel") if "marginLevel" in raw else margin.margin_level(total, liab)
    if liab <= 0 and level < margin.NO_DEBT_LEVEL:
        level = margin.NO_DEBT_LEVEL
    return AccountSnapshot(
        isolated_symbol=None, assets=assets, prices=dict(prices), total_asset_value=total,
        total_liability_value=liab, margin_level=level, band=margin.band_for(level, bars), thresholds=bars,
        locked=not raw.get("tradeEnabled", True), taken_at=now,
    )


def empty_cross(prices: dict[str, Decimal], bars: Thresholds, now: datetime) -> AccountSnapshot:
    return AccountSnapshot(None, (), dict(prices), D0, D0, margin.NO_DEBT_LEVEL, Band.EXCESSIVE, bars, False, now)


def isolated_snapshot(pair: wire.Json | None, info: SymbolInfo, quote_usdt: Decimal, bars: Thresholds,
                      now: datetime) -> AccountSnapshot:
    """One isolated pair. `pair` None (never funded) gives an empty account at the pair's bars."""
    if pair is None:
        zero = (AssetBalance(info.base, D0, D0, D0, D0), AssetBalance(info.quote, D0, D0, D0, D0))
        return AccountSnapshot(info.symbol, zero, {info.quote: quote_usdt}, D0, D0, margin.NO_DEBT_LEVEL,
                               Band.EXCESSIVE, bars, False, now)
    base, quote = balance(wire.field(pair, "baseAsset")), balance(wire.field(pair, "quoteAsset"))
    index = wire.opt_dec(pair, "indexPrice")
    prices = {quote.asset: quote_usdt, base.asset: index * quote_usdt}
    assets = tuple(sorted((base, quote), key=lambda b: b.asset))
    total, liab = _totals(assets, prices)
    level = wire.opt_dec(pair, "marginLevel", margin.margin_level(total, liab))
    if liab <= 0 and level < margin.NO_DEBT_LEVEL:
        level = margin.NO_DEBT_LEVEL
    created = bool(pair.get("isolatedCreated", True))
    return AccountSnapshot(
        isolated_symbol=info.symbol, assets=assets, prices=prices, total_asset_value=total,
        total_liability_value=liab, margin_level=level, band=margin.band_for(level, bars), thresholds=bars,
        locked=created and not pair.get("tradeEnabled", True), taken_at=now,
    )


def collateral_value(raw: wire.Json | None, snap: AccountSnapshot) -> Decimal:
    """Cross: Binance's haircut collateral value (`TotalCollateralValueInUSDT`); isolated: the asset value."""
    if raw is not None and raw.get("TotalCollateralValueInUSDT") not in (None, ""):
        return wire.dec(raw["TotalCollateralValueInUSDT"], "TotalCollateralValueInUSDT")
    return snap.total_asset_value


def derived_max_borrowable(snap: AccountSnapshot, collateral: Decimal, asset: str,
                           borrow_limit: Decimal | None) -> Decimal | None:
    """Max borrowable from the account's own figures: (C − r·L)/(r − 1) in value, capped by the borrow
    limit left; None when the asset has no price in the snapshot (ask Binance instead)."""
    price = snap.prices.get(asset)
    if not price:
        return None
    left = None if borrow_limit is None else max(D0, borrow_limit - snap.asset(asset).borrowed)
    return margin.max_borrowable(collateral, snap.total_liability_value, snap.thresholds.initial, price,
                                 limit_left=left)


def held_assets(raw: dict[str, Any]) -> set[str]:
    return {r["asset"] for r in raw.get("userAssets", ()) if _in_use(balance(r))}
