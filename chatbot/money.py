"""Decimal helpers: parsing amounts from people and config, and rounding for display only.

Money is `Decimal` end to end. Nothing here ever goes through `float`; display rounding happens
at the very edge (replies), never in stored or computed values.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation

D0 = Decimal(0)
D1 = Decimal(1)
EIGHT_DP = Decimal("0.00000001")

_PLAIN_CHARS = set("0123456789.")


class AmountError(ValueError):
    """An amount that is not a plain, positive, finite decimal."""


def parse_decimal(text: str, *, allow_zero: bool = False, allow_negative: bool = False) -> Decimal:
    """Parse a plain decimal as a person or a config file writes it: `1000`, `0.5`, `35000.25`.

    Refuses exponents (`1e5`), NaN/Infinity, signs (unless negative allowed), thousands separators
    and anything else that is not digits with at most one dot.
    """
    raw = text.strip()
    body = raw[1:] if allow_negative and raw.startswith("-") else raw
    if not body or not set(body) <= _PLAIN_CHARS or body.count(".") > 1 or body in {"."}:
        raise AmountError(f"'{text}' is not a plain decimal number")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:  # pragma: no cover - guarded by the character check
        raise AmountError(f"'{text}' is not a plain decimal number") from exc
    if not value.is_finite():
        raise AmountError(f"'{text}' is not a finite number")
    if value < 0 and not allow_negative:
        raise AmountError(f"'{text}' must not be negative")
    if value == 0 and not allow_zero:
        raise AmountError(f"'{text}' must be greater than zero")
    return value


def is_whole_number(text: str) -> bool:
    """ASCII digits only: `"42"` yes; `"²"`, `"٣"`, `"-1"`, `""` no (`str.isdigit` says yes to the first two)."""
    return text.isascii() and text.isdigit()


def decimals_of(value: Decimal) -> int:
    """Number of digits after the decimal point as written (`1.50` -> 2, `100` -> 0)."""
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def q8(value: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Quantize to Binance's 8 decimals (API strings)."""
    return value.quantize(EIGHT_DP, rounding=rounding)


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Round down to a multiple of `step` (LOT_SIZE stepSize, PRICE_FILTER tickSize)."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def ceil_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Round up to a multiple of `step` (enough to cover `value` after LOT_SIZE rounding)."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_UP) * step


def plain(value: Decimal) -> str:
    """Exact value as a plain string without exponent and without trailing zeros (`1E+2` -> `100`)."""
    text = format(value, "f")  # no context rounding, unlike normalize()
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def fmt(value: Decimal, places: int = 2) -> str:
    """Round for display only, with thousands separators: `fmt(Decimal('20000.5'))` -> `20,000.50`."""
    quantum = Decimal(1).scaleb(-places)
    return f"{value.quantize(quantum, rounding=ROUND_HALF_UP):,.{places}f}"


def fmt_amount(value: Decimal, max_places: int = 8) -> str:
    """Display an asset amount: up to `max_places` decimals, trailing zeros trimmed."""
    quantum = Decimal(1).scaleb(-max_places)
    return plain(value.quantize(quantum, rounding=ROUND_HALF_UP))
