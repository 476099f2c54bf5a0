"""Margin bands and regular liquidation (reference §5.10).

Why it exists: after every mutation, price tick and hourly charge the touched accounts are
re-banded, and an account at or below its liquidation ratio is locked, stripped of its open orders
and sold down (with the liquidation fee) until it is back at the initial ratio (`to_initial`) or
owes nothing (`full`). It is the one place that decides and performs liquidation, and it fills the
`_settle_accounts` hook of `ledger.Books` that loans, transfers and orders call; it builds on fills
(to cancel orders) and loans (to repay).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from chatbot import margin
from chatbot.exchange import OrderStatus, Side, SymbolInfo
from chatbot.margin import Band
from chatbot.money import D0, floor_to_step, q8

from .fills import Fills
from .model import VALUATION_ASSET, LiquidationRow, MarginAccount
from .rules import ceil_to_step

MAX_LIQUIDATION_STEPS = 64


class Liquidation(Fills):
    """Bands (with their events) and the liquidation of accounts that fall to the liquidation ratio."""

    def _settle_accounts(self, accts: Iterable[MarginAccount]) -> None:
        """Re-band `accts` (emitting band events), then liquidate those at or below the liquidation ratio."""
        doomed = [a for a in accts if self._update_band(a) == Band.FORCE_LIQUIDATION]
        for acct in doomed:
            if acct.has_debt() and self.level(acct) <= acct.thresholds.liquidation:
                self._liquidate(acct)
                self._update_band(acct)

    def _update_band(self, acct: MarginAccount) -> Band:
        level = self.level(acct)
        band = margin.band_for(level, acct.thresholds)
        if band != acct.band:
            old, acct.band = acct.band, band
            self.journal.accounts.add(acct.key)
            self._touch()
            self._emit("band", acct.isolated_symbol, account=acct.key, old=old, new=band, level=q8(level))
        return band

    # ------------------------------------------------------------------ liquidation

    def _liquidate(self, acct: MarginAccount) -> None:
        """Regular liquidation (§5.10): lock, cancel orders, sell collateral into liabilities with the
        liquidation fee, until ML ≥ initial (`to_initial`) or every liability is repaid (`full`)."""
        acct.locked = True
        level_before = self.level(acct)
        cancelled: list[int] = []
        for sym in sorted(self.open_by_symbol):
            for oid in sorted(self.open_by_symbol[sym]):
                order = self.open_by_symbol[sym].get(oid)
                if order is not None and order.account == acct.key and order.is_open:
                    self._close(order, OrderStatus.CANCELED)
                    cancelled.append(oid)
        rows: list[LiquidationRow] = []
        fee_value = D0
        for _ in range(MAX_LIQUIDATION_STEPS):
            step = self._liquidation_step(acct)
            if step is None:
                break
            if isinstance(step, LiquidationRow):
                rows.append(step)
                fee_value += step.fee * self.asset_prices[step.fee_asset]
        acct.locked = False
        self.journal.accounts.add(acct.key)
        level_after = self.level(acct)
        if rows or cancelled:
            self._emit("liquidation", acct.isolated_symbol, account=acct.key,
                       mode=self.config.liquidation_mode, level_before=q8(level_before),
                       level_after=q8(level_after), fee_value=fee_value,
                       orders=[r.order_id for r in rows], cancelled=cancelled,
                       bankrupt=acct.has_debt() and level_after <= acct.thresholds.liquidation)

    def _liquidation_step(self, acct: MarginAccount) -> LiquidationRow | bool | None:
        """One repayment or one liquidation trade; None when done (or nothing can be sold)."""
        assets, liab = self.values(acct)
        if liab <= 0:
            return None
        full = self.config.liquidation_mode == "full"
        target = acct.thresholds.initial
        if not full and margin.margin_level(assets, liab) >= target:
            return None
        for asset, bal in sorted(acct.balances.items()):  # an asset's own balance repays it, no trade
            if bal.free > 0 and bal.liability > 0:
                self._apply_repay(acct, asset, min(bal.free, bal.liability), "LIQUIDATION")
                return True
        prices = self.asset_prices
        debts = sorted(((b.liability * prices[a], a) for a, b in acct.balances.items() if b.liability > 0),
                       reverse=True)
        collateral = sorted(((b.free * prices[a], a) for a, b in acct.balances.items()
                             if b.free > 0 and b.liability <= 0), reverse=True)
        keep = Decimal(1) - self.config.liquidation_fee
        denom = target * keep - 1
        # value (USDT) to sell so that ML reaches the initial ratio: (r·L − A) / (r·(1 − f) − 1)  (§5.10)
        needed = None if full or denom <= 0 else (target * liab - assets) / denom
        for _, debt in debts:  # largest liability first, bought with the largest collateral
            for _, coll in collateral:
                info = self._pair(coll, debt)
                if info is not None:
                    row = self._liquidation_trade(acct, info, coll, debt, needed, full, keep)
                    if row is not None:
                        return row
        # no direct pair: sell collateral into USDT first; the next step buys the debt with it [choice].
        # Two fees: selling v ends as v·(1 − f)² of debt repaid, so v = (r·L − A) / (r·(1 − f)² − 1).
        denom2 = target * keep * keep - 1
        needed2 = None if full or denom2 <= 0 else (target * liab - assets) / denom2
        for _, debt in debts:
            debt_value = acct.balances[debt].liability * prices[debt] / (keep * keep)
            hop_value = debt_value if needed2 is None else min(debt_value, needed2)
            for _, coll in collateral:
                info = self._pair(coll, VALUATION_ASSET) if coll != VALUATION_ASSET else None
                if info is not None:
                    row = self._liquidation_trade(acct, info, coll, VALUATION_ASSET, hop_value, full, keep,
                                                  repay_all=False)
                    if row is not None:
                        return row
        return None

    def _pair(self, a: str, b: str) -> SymbolInfo | None:
        for info in self.symbols.values():
            if {info.base, info.quote} == {a, b} and info.symbol in self.prices:
                return info
        return None

    def _liquidation_trade(self, acct: MarginAccount, info: SymbolInfo, coll: str, into: str,
                           value: Decimal | None, full: bool, keep: Decimal, *,
                           repay_all: bool = True) -> LiquidationRow | None:
        """Sell `coll` for `into` on `info` at the index price, minus the liquidation fee, then repay.

        Quantity: the whole collateral when it is the pair's base in `full` mode (closing a long);
        else enough to repay `into`'s liability (or, with `value`, to restore the initial ratio),
        rounded UP to stepSize and capped by what there is.
        """
        price = self.prices[info.symbol]
        step = info.step_size
        coll_free = acct.balances[coll].free
        sell = info.base == coll  # SELL the collateral (a long), else BUY `into` with it (a short)
        qty_all = floor_to_step(coll_free if sell else coll_free / price, step)
        if repay_all:
            debt_liab = acct.balances[into].liability
            qty_repay = ceil_to_step(debt_liab / (price * keep) if sell else debt_liab / keep, step)
        else:
            qty_repay = ceil_to_step(value / self.asset_prices[info.base], step) if value is not None \
                else qty_all
        if full and sell:
            qty = qty_all
        elif value is not None and repay_all:
            qty = min(ceil_to_step(value / self.asset_prices[info.base], step), qty_repay, qty_all)
        else:
            qty = min(qty_repay, qty_all)
        if qty <= 0:
            return None
        notional = qty * price
        base_bal, quote_bal = self._bal(acct, info.base), self._bal(acct, info.quote)
        if sell:
            base_bal.free -= qty
            fee_amount = q8(notional * self.config.liquidation_fee)
            quote_bal.free += notional - fee_amount
            fee_asset = info.quote
        else:
            quote_bal.free -= notional
            fee_amount = q8(qty * self.config.liquidation_fee)
            base_bal.free += qty - fee_amount
            fee_asset = info.base
        order_id = self.next_order
        self.next_order += 1
        row = LiquidationRow(order_id, acct.key, info.symbol, acct.isolated_symbol is not None,
                             Side.SELL if sell else Side.BUY, qty, price, price, fee_amount, fee_asset,
                             self.now_ms)
        self.liquidations.append(row)
        self.journal.liquidations.append(row)
        self._touch()
        into_bal = acct.balances[into]
        amount = min(into_bal.free, into_bal.liability)
        if amount > 0:
            self._apply_repay(acct, into, amount, "LIQUIDATION")
        return row
