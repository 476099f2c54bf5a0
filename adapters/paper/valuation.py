"""What the paper accounts are worth at current index prices: totals, margin level, snapshots.

Why it exists apart from the books: valuation is read-only and is what everything else asks before
acting (borrow caps, order checks, bands, liquidation), so it sits right above `ledger.Books` and
below every layer that mutates. The margin algebra itself is `chatbot.margin` (one source of
truth); this module only sums balances in USDT and packs the port's `AccountSnapshot`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from chatbot import margin
from chatbot.exchange import CROSS, AccountSnapshot, AssetBalance
from chatbot.margin import Band
from chatbot.money import D0

from .ledger import Books
from .model import MarginAccount, ms_to_dt


class Valuation(Books):
    """Account values, margin levels and snapshots (no mutation)."""

    # ------------------------------------------------------------------ valuation

    def values(self, acct: MarginAccount) -> tuple[Decimal, Decimal]:
        """(total asset value, liabilities + interest) in USDT at current prices."""
        assets = liab = D0
        prices = self.asset_prices
        for asset, b in acct.balances.items():
            total = b.free + b.locked
            debt = b.borrowed + b.interest
            if total or debt:
                price = prices[asset]
                assets += total * price
                liab += debt * price
        return assets, liab

    def level(self, acct: MarginAccount) -> Decimal:
        return margin.margin_level(*self.values(acct))

    def snapshot(self, isolated_symbol: str | None) -> AccountSnapshot:
        key = self.account_key(isolated_symbol)
        acct = self.accounts.get(key)
        if acct is None:  # configured pair, never funded: an empty account
            info = self._symbol(isolated_symbol or "")
            thresholds = self._isolated_thresholds(info.symbol)
            zero = (AssetBalance(info.base, D0, D0, D0, D0), AssetBalance(info.quote, D0, D0, D0, D0))
            return AccountSnapshot(info.symbol, zero, dict(self.asset_prices), D0, D0, margin.NO_DEBT_LEVEL,
                                   Band.EXCESSIVE, thresholds, False, ms_to_dt(self.now_ms))
        return self._valued(acct, dict(self.asset_prices), ms_to_dt(self.now_ms))

    def snapshots(self) -> dict[str | None, AccountSnapshot]:
        """Cross and every isolated account (the order of `isolated_symbols()`), valued together: one copy of
        the prices and one clock reading for all (a copy of every asset's price in each of 10,000 snapshots
        was most of a monitor cycle)."""
        prices, taken_at = dict(self.asset_prices), ms_to_dt(self.now_ms)
        out: dict[str | None, AccountSnapshot] = {None: self._valued(self.accounts[CROSS], prices, taken_at)}
        for acct in sorted((a for a in self.accounts.values() if a.isolated_symbol),
                           key=lambda a: a.isolated_symbol or ""):
            out[acct.isolated_symbol] = self._valued(acct, prices, taken_at)
        return out

    def _valued(self, acct: MarginAccount, prices: dict[str, Decimal], taken_at: datetime) -> AccountSnapshot:
        assets, liab = self.values(acct)
        level = margin.margin_level(assets, liab)
        return AccountSnapshot(
            isolated_symbol=acct.isolated_symbol,
            assets=acct.assets(),
            prices=prices,
            total_asset_value=assets,
            total_liability_value=liab,
            margin_level=level,
            band=margin.band_for(level, acct.thresholds),
            thresholds=acct.thresholds,
            locked=acct.locked,
            taken_at=taken_at,
        )

    def spot_balances(self) -> dict[str, Decimal]:
        return {a: b.free for a, b in sorted(self.spot.balances.items())}

    def isolated_symbols(self) -> list[str]:
        return sorted(a.isolated_symbol for a in self.accounts.values() if a.isolated_symbol)
