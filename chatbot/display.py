"""Figures a phone can read: amounts rounded to their asset's precision, signed P&L, percentages, levels.

Why it exists: every reply rounds at the very edge, and the same figure must look the same wherever it
appears (`24,878.94 USDT`, never `24878.9374647 USDT`). Stablecoins show cents; other assets show up to
8 decimals (Binance's margin precision), trailing zeros trimmed. Rounding here is for display only.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CENTS_ASSETS = frozenset({"USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI", "USD", "EUR"})
D0 = Decimal(0)


def places(asset: str) -> int:
    return 2 if asset in CENTS_ASSETS else 8


def num(value: Decimal, decimals: int) -> str:
    """Rounded half up, thousands separators; more than two decimals are trimmed of trailing zeros."""
    rounded = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{decimals}f}"
    if decimals > 2 and "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def amount(value: Decimal, asset: str) -> str:
    """`1,234.57 USDT`, `0.00024 BTC`."""
    return f"{num(value, places(asset))} {asset}"


def usdt(value: Decimal) -> str:
    return amount(value, "USDT")


def signed_usdt(value: Decimal) -> str:
    text = usdt(value)
    return text if text.startswith("-") else f"+{text}"


def price(value: Decimal) -> str:
    """A price in USDT: cents above 1, up to 8 decimals below."""
    return num(value, 2 if abs(value) >= 1 else 8)


def pct(value: Decimal) -> str:
    text = num(value, 2)
    return f"{text}%" if text.startswith("-") else f"+{text}%"


def level(value: Decimal, debt: bool) -> str:
    """A margin level: ∞ only when nothing is owed; rounded down so 1.29992 never shows as the 1.3 bar."""
    if not debt:
        return "∞ (no debt)"
    return str(value.quantize(Decimal("0.0001"), rounding=ROUND_DOWN))
