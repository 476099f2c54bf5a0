"""Position and P&L math, pure Decimal: average cost from fills, realized and unrealized P&L, fees, interest.

Why it exists: `/positions`, `/pnl` and the answer to `/close` must add up to the account's equity to the
last digit, on paper and live alike. This module replays the desk's fills and interest charges (in time
order) into one `Book` per account and asset, with no I/O, so it is tested on its own (with Hypothesis:
realized + unrealized − fees − interest equals the change in net equity, exactly).

The bookkeeping, chosen so that identity is exact:
- A book holds the signed open quantity (`qty`: + long, − short) and its signed cost basis (`cost`, in the
  quote asset). Reducing a position removes cost in proportion and realizes the difference; the entry
  price (`cost / qty`) is only ever divided for display.
- A commission taken in the base asset is a fee valued at the fill's price, and the position grows by
  what was received net of it (what the account really holds).
- Interest charged in the quote asset is a cost when charged. Interest charged in a base asset adds to
  what is owed in units (`interest_units`); the part of a later buy that covers it (buying back a short
  and its interest) is interest paid at that price, not a new long. Until then it is valued at the mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from chatbot.exchange import Side

D0 = Decimal(0)
PRECISION = 60  # every sum and product here is exact at this precision for desk-sized figures
COST_QUANTUM = Decimal("1e-18")  # a removed cost basis is rounded here (never the identity's terms)


@dataclass
class Book:
    """One position: an account's net holding of one asset against its quote, and its cost basis."""

    account: str
    asset: str
    qty: Decimal = D0
    cost: Decimal = D0
    interest_units: Decimal = D0

    @property
    def entry(self) -> Decimal | None:
        """Average entry price (display only: the one division), None when flat."""
        if self.qty == 0:
            return None
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return self.cost / self.qty

    def unrealized(self, mark: Decimal) -> Decimal:
        """What closing the open quantity at `mark` would realize (interest owed not included)."""
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return self.qty * mark - self.cost

    def unrealized_pct(self, mark: Decimal) -> Decimal | None:
        if self.cost == 0:
            return None
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return self.unrealized(mark) / abs(self.cost) * 100


@dataclass(frozen=True)
class Realized:
    """One realized line: trading P&L, fees and interest (quote asset) of one fill or interest charge."""

    time: datetime
    account: str
    asset: str
    trading: Decimal = D0
    fees: Decimal = D0
    interest: Decimal = D0
    order_id: int | None = None

    @property
    def net(self) -> Decimal:
        return self.trading - self.fees - self.interest


@dataclass
class Ledger:
    """Replays fills and interest charges, oldest first, into books and realized lines."""

    quote: str = "USDT"
    books: dict[tuple[str, str], Book] = field(default_factory=dict)
    realized: list[Realized] = field(default_factory=list)

    def book(self, account: str, asset: str) -> Book:
        key = (account, asset)
        if key not in self.books:
            self.books[key] = Book(account, asset)
        return self.books[key]

    def fill(self, *, account: str, base: str, side: Side, qty: Decimal, price: Decimal, commission: Decimal,
             commission_asset: str, time: datetime, order_id: int | None = None,
             commission_price: Decimal = D0) -> Realized:
        """One fill of `qty` `base` at `price`. The commission is valued at the fill's price when it is the
        base asset, at par when it is the quote, else at `commission_price`."""
        with localcontext() as ctx:
            ctx.prec = PRECISION
            book = self.book(account, base)
            delta = qty if side is Side.BUY else -qty
            if commission_asset == base:
                fees = commission * price
                delta -= commission
            elif commission_asset == self.quote:
                fees = commission
            else:
                fees = commission * commission_price
            interest = D0
            if delta > 0 and book.qty <= 0 and book.interest_units > 0:
                covered = min(book.interest_units, max(D0, book.qty + delta))
                book.interest_units -= covered
                interest = covered * price
                delta -= covered
            trading = _trade(book, delta, price)
            line = Realized(time, account, base, trading, fees, interest, order_id)
            self.realized.append(line)
            return line

    def interest(self, *, account: str, asset: str, units: Decimal, time: datetime) -> Realized | None:
        """Interest charged: a cost now in the quote asset; owed in units for any other asset."""
        if asset == self.quote:
            line = Realized(time, account, asset, interest=units)
            self.realized.append(line)
            return line
        self.book(account, asset).interest_units += units
        return None

    # ------------------------------------------------------------------ reading

    def unrealized(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Open positions at their marks (asset → price in the quote)."""
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return sum((b.unrealized(marks.get(b.asset, D0)) for b in self.books.values()), D0)

    def interest_owed(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Base-asset interest charged and not yet bought back, at the marks."""
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return sum((b.interest_units * marks.get(b.asset, D0) for b in self.books.values()), D0)

    def total(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Realized + unrealized − fees − interest: the change in net equity the trading made."""
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return sum((r.net for r in self.realized), D0) + self.unrealized(marks) - self.interest_owed(marks)


def _trade(book: Book, delta: Decimal, price: Decimal) -> Decimal:
    """Apply a signed quantity at `price` to `book`; returns the realized trading P&L."""
    if delta == 0:
        return D0
    if book.qty == 0 or (book.qty > 0) == (delta > 0):
        book.qty += delta
        book.cost += delta * price
        return D0
    closing = delta if abs(delta) <= abs(book.qty) else -book.qty
    if closing == -book.qty:
        removed = book.cost
    else:
        removed = (book.cost * -closing / book.qty).quantize(COST_QUANTUM, rounding=ROUND_HALF_EVEN)
    realized = -closing * price - removed
    book.cost -= removed
    book.qty += closing
    rest = delta - closing
    if rest:
        book.qty += rest
        book.cost += rest * price
    return realized


@dataclass(frozen=True)
class Day:
    """Realized P&L of one UTC day."""

    day: date
    trading: Decimal
    fees: Decimal
    interest: Decimal

    @property
    def net(self) -> Decimal:
        return self.trading - self.fees - self.interest


def by_day(lines: Iterable[Realized], start: datetime, end: datetime) -> list[Day]:
    """Realized lines in [start, end), summed per UTC day (days with nothing realized are left out)."""
    days: dict[date, list[Decimal]] = {}
    for r in lines:
        if start <= r.time < end:
            acc = days.setdefault(r.time.date(), [D0, D0, D0])
            acc[0] += r.trading
            acc[1] += r.fees
            acc[2] += r.interest
    return [Day(d, *v) for d, v in sorted(days.items())]
