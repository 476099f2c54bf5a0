"""Pure margin math, in Decimal: margin level, bands, max borrow/transfer, liquidation prices, interest.

One module shared by the paper book, command previews and the margin monitor, so the number a
desk sees in a preview, in `/status` and in an alert is always computed the same way. Formulas and
their sources: `shared/reference/binance-margin.md` §5 (Binance margin-level FAQ, trading guides,
and the derived closed forms there).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import cached_property

from chatbot.money import D0, D1, EIGHT_DP

D2 = Decimal(2)
HOURS_PER_DAY = Decimal(24)
NO_DEBT_LEVEL = Decimal("999")  # what Binance reports as the margin level with no debt


class Band(StrEnum):
    """Margin-level status bands, best to worst (binance-margin.md §5.11)."""

    EXCESSIVE = "EXCESSIVE"
    NORMAL = "NORMAL"
    MARGIN_CALL = "MARGIN_CALL"
    PRE_LIQUIDATION = "PRE_LIQUIDATION"
    FORCE_LIQUIDATION = "FORCE_LIQUIDATION"

    @property
    def severity(self) -> int:
        """0 for EXCESSIVE … 4 for FORCE_LIQUIDATION; larger is worse."""
        return list(Band).index(self)


class BalanceFigures:
    """`total`, `liability` and `net` of one asset's balance: defined once for every balance struct."""

    __slots__ = ()
    free: Decimal
    locked: Decimal
    borrowed: Decimal
    interest: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.locked

    @property
    def liability(self) -> Decimal:
        return self.borrowed + self.interest

    @property
    def net(self) -> Decimal:
        return self.free + self.locked - self.borrowed - self.interest


@dataclass(slots=True)
class Balance(BalanceFigures):
    """One asset's balance while it is being worked on: the paper ledger's books, a preview's what-if."""

    free: Decimal = D0
    locked: Decimal = D0
    borrowed: Decimal = D0
    interest: Decimal = D0


@dataclass(frozen=True)
class Thresholds:
    """The bars of one account. `initial` gates borrowing, `transfer_out` gates transfers out."""

    initial: Decimal
    margin_call: Decimal
    liquidation: Decimal
    transfer_out: Decimal = D2
    excessive: Decimal = D2

    @cached_property  # asked for every account at every monitor cycle; the bars never change
    def pre_liquidation(self) -> Decimal:
        return self.liquidation + min(Decimal("0.05"), (self.margin_call - self.liquidation) / 2)

    @classmethod
    def cross(cls, max_leverage: int = 3) -> Thresholds:
        """Cross Margin Classic: 3x (1.5 / 1.3 / 1.1) or 5x (1.25 / 1.16 / 1.1)."""
        if max_leverage == 3:
            return cls(Decimal("1.5"), Decimal("1.3"), Decimal("1.1"))
        if max_leverage == 5:
            return cls(Decimal("1.25"), Decimal("1.16"), Decimal("1.1"))
        raise ValueError("cross margin classic supports max leverage 3 or 5")

    @classmethod
    def isolated(cls, initial: Decimal, liquidation: Decimal) -> Thresholds:
        """Isolated tier: margin call at the midpoint of initial and liquidation [choice]."""
        return cls(initial, (initial + liquidation) / 2, liquidation, transfer_out=initial)

    @classmethod
    def isolated_for_leverage(cls, leverage: int) -> Thresholds:
        table = {3: ("1.5", "1.1"), 5: ("1.25", "1.1"), 10: ("1.111", "1.05")}
        if leverage not in table:
            raise ValueError(f"no default isolated tier for {leverage}x (have 3, 5, 10)")
        initial, liq = table[leverage]
        return cls.isolated(Decimal(initial), Decimal(liq))


def margin_level(total_asset_value: Decimal, total_liability_value: Decimal) -> Decimal:
    """ML = total asset value / (borrowed + interest), 999 when there is no debt."""
    if total_liability_value <= 0:
        return NO_DEBT_LEVEL
    return total_asset_value / total_liability_value


def band_for(level: Decimal, t: Thresholds) -> Band:
    if level <= t.liquidation:
        return Band.FORCE_LIQUIDATION
    if level <= t.pre_liquidation:
        return Band.PRE_LIQUIDATION
    if level <= t.margin_call:
        return Band.MARGIN_CALL
    if level <= t.excessive:
        return Band.NORMAL
    return Band.EXCESSIVE


def max_borrow_value(collateral_value: Decimal, liability_value: Decimal, initial: Decimal) -> Decimal:
    """Largest borrow (in quote value) keeping (C + X) / (L + X) ≥ r: X = (C − rL) / (r − 1), ≥ 0."""
    return max(D0, (collateral_value - initial * liability_value) / (initial - D1))


def max_borrowable(
    collateral_value: Decimal, liability_value: Decimal, initial: Decimal, price: Decimal,
    *, limit_left: Decimal | None = None,
) -> Decimal:
    """Max borrowable units of an asset at `price`, rounded down to 8 decimals (§5.5)."""
    units = max_borrow_value(collateral_value, liability_value, initial) / price
    if limit_left is not None:
        units = min(units, max(D0, limit_left))
    return units.quantize(EIGHT_DP, rounding=ROUND_DOWN)


def max_transferable(
    free: Decimal, collateral_value: Decimal, liability_value: Decimal, price: Decimal,
    transfer_out: Decimal = D2,
) -> Decimal:
    """min(free, (C − 2L) / price), or free when there is no debt (§5.5)."""
    if liability_value <= 0:
        return free
    room = max(D0, collateral_value - transfer_out * liability_value) / price
    return min(free, room).quantize(EIGHT_DP, rounding=ROUND_DOWN)


def liquidation_price(
    base_total: Decimal, quote_total: Decimal, base_liability: Decimal, quote_liability: Decimal,
    ratio: Decimal,
) -> Decimal:
    """Price of the base asset at which ML(P) = ratio for a two-asset account (§5.12); 0 if none.

    ML(P) = (B·P + Q) / (Lb·P + Lq). Net long (B > r·Lb): the level falls as P falls; net short:
    it falls as P rises. Use `ratio` = liquidation bar for the liquidation price, or the margin-call
    bar for the margin-call price.
    """
    if base_liability <= 0 and quote_liability <= 0:
        return D0
    exposure = base_total - ratio * base_liability
    if exposure > 0:
        price = (ratio * quote_liability - quote_total) / exposure
    elif exposure < 0:
        price = (quote_total - ratio * quote_liability) / (ratio * base_liability - base_total)
    else:
        return D0
    return price if price > 0 else D0


def price_for_level(
    target: Decimal, base_total: Decimal, quote_total: Decimal, base_liability: Decimal,
    quote_liability: Decimal,
) -> Decimal:
    """The base price at which the account reaches margin level `target` (same algebra as above)."""
    return liquidation_price(base_total, quote_total, base_liability, quote_liability, target)


def interest_for_hours(principal: Decimal, daily_rate: Decimal, hours: int = 1) -> Decimal:
    """Simple interest, quantized to 8 decimals HALF_UP per charge (§5.6)."""
    one = (principal * daily_rate / HOURS_PER_DAY).quantize(EIGHT_DP, rounding=ROUND_HALF_UP)
    return one * hours


def interest_per_day(principal: Decimal, daily_rate: Decimal) -> Decimal:
    return interest_for_hours(principal, daily_rate, 24)


def hourly_interest_value(borrowed: Mapping[str, Decimal], daily_rates: Mapping[str, Decimal],
                          prices: Mapping[str, Decimal]) -> Decimal:
    """The next hourly charge of every loan of an account, valued in the quote asset (USDT)."""
    return sum((interest_for_hours(units, daily_rates.get(asset, D0)) * prices.get(asset, D0)
                for asset, units in borrowed.items() if units > 0), D0)


def main_asset(exposure_value: Mapping[str, Decimal], quote: str = "USDT") -> str | None:
    """The non-quote asset with the largest gross exposure (held + owed, in USDT): the one whose price
    move matters for the account's margin level."""
    best, size = None, D0
    for asset, value in exposure_value.items():
        if asset != quote and value > size:
            best, size = asset, value
    return best


def leverage(total_asset_value: Decimal, total_liability_value: Decimal) -> Decimal | None:
    """Assets over equity; None when there is no equity left (leverage without bound)."""
    equity = total_asset_value - total_liability_value
    return total_asset_value / equity if equity > 0 else None


@dataclass(frozen=True)
class WaysBack:
    """The quickest ways back above a margin level: repay `repay_units` of the biggest debt (at most
    what is owed), or add `add_value` of collateral (in USDT)."""

    repay_units: Decimal | None
    add_value: Decimal


def ways_back(total_asset_value: Decimal, total_liability_value: Decimal, target: Decimal,
              top_liability_units: Decimal | None = None, top_price: Decimal = D0) -> WaysBack | None:
    """None when the account is already at or above `target` (or has no debt).

    Adding collateral C: (A + C) / L = t → C = t·L − A. Repaying value R from the account's own assets
    lowers both sides: (A − R) / (L − R) = t → R = (t·L − A) / (t − 1).
    """
    if total_liability_value <= 0 or total_asset_value >= target * total_liability_value:
        return None
    short = target * total_liability_value - total_asset_value
    repay = None
    if top_liability_units is not None and top_price > 0 and target > D1:
        repay = min(short / (target - D1) / top_price, top_liability_units)
    return WaysBack(repay, short)
