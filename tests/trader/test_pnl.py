"""The pure P&L ledger: the issue's worked examples to the digit, and the equity identity under Hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot.exchange import Side
from chatbot.pnl import Ledger, by_day

T0 = datetime(2024, 1, 1, tzinfo=UTC)
D = Decimal


def test_short_35000_bought_back_at_25000_realizes_10000_before_interest() -> None:
    ledger = Ledger()
    ledger.interest(account="cross", asset="BTC", units=D("0.00001"), time=T0)  # ON_BORROW, 1 h
    ledger.fill(account="cross", base="BTC", side=Side.SELL, qty=D(1), price=D(35000), commission=D0,
                commission_asset="USDT", time=T0)
    close = ledger.fill(account="cross", base="BTC", side=Side.BUY, qty=D("1.00001"), price=D(25000),
                        commission=D0, commission_asset="BTC", time=T0 + timedelta(hours=1))
    assert close.trading == D(10000) and close.interest == D("0.25000")
    assert ledger.total({"BTC": D(25000)}) == D("9999.75")  # equity 20,000 → 29,999.75
    assert ledger.books[("cross", "BTC")].qty == 0


def test_2x_long_25000_sold_at_40000_realizes_30000_before_interest() -> None:
    ledger = Ledger()
    ledger.interest(account="cross", asset="USDT", units=D("0.25"), time=T0)  # 25,000 borrowed, one hour
    ledger.fill(account="cross", base="BTC", side=Side.BUY, qty=D(2), price=D(25000), commission=D0,
                commission_asset="BTC", time=T0)
    close = ledger.fill(account="cross", base="BTC", side=Side.SELL, qty=D(2), price=D(40000), commission=D0,
                        commission_asset="USDT", time=T0 + timedelta(hours=1))
    assert close.trading == D(30000)
    assert ledger.total({"BTC": D(40000)}) == D("29999.75")  # equity 25,000 → 54,999.75
    (day,) = by_day(ledger.realized, T0, T0 + timedelta(days=1))
    assert (day.trading, day.fees, day.interest) == (D(30000), D0, D("0.25"))


def test_half_closes_realize_in_proportion_and_keep_the_entry() -> None:
    ledger = Ledger()
    ledger.fill(account="cross", base="BTC", side=Side.BUY, qty=D(1), price=D(30000), commission=D0,
                commission_asset="BTC", time=T0)
    ledger.fill(account="cross", base="BTC", side=Side.BUY, qty=D(1), price=D(32000), commission=D0,
                commission_asset="BTC", time=T0)
    book = ledger.books[("cross", "BTC")]
    assert book.entry == D(31000)
    half = ledger.fill(account="cross", base="BTC", side=Side.SELL, qty=D(1), price=D(35000), commission=D0,
                       commission_asset="USDT", time=T0)
    assert half.trading == D(4000) and book.entry == D(31000) and book.unrealized(D(35000)) == D(4000)


D0 = Decimal(0)
PRICES = st.integers(min_value=100, max_value=100_000_00).map(lambda c: Decimal(c) / 100)
QTYS = st.integers(min_value=1, max_value=5_000_000).map(lambda s: Decimal(s) / 100_000)
FEES = st.sampled_from([D0, D("0.001"), D("0.00075")])
STEP = st.one_of(
    st.tuples(st.just("fill"), st.sampled_from([Side.BUY, Side.SELL]), QTYS, PRICES, FEES),
    st.tuples(st.just("interest"), st.sampled_from(["BTC", "USDT"]),
              st.integers(min_value=1, max_value=100_000).map(lambda u: Decimal(u) / 10**8)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(STEP, min_size=1, max_size=40), PRICES)
def test_realized_plus_unrealized_minus_fees_and_interest_is_the_change_in_equity(steps: list[tuple], mark: Decimal
                                                                                  ) -> None:
    """Binance takes a commission from what is received: BTC on a buy, USDT on a sell."""
    ledger = Ledger()
    start = D(20000)
    base, quote = D0, start
    with localcontext() as ctx:
        ctx.prec = 60
        for i, step in enumerate(steps):
            when = T0 + timedelta(minutes=i)
            if step[0] == "fill":
                _, side, qty, price, rate = step
                received = qty if side is Side.BUY else qty * price
                commission = (received * rate).quantize(D("0.00000001"))
                asset = "BTC" if side is Side.BUY else "USDT"
                ledger.fill(account="cross", base="BTC", side=side, qty=qty, price=price, commission=commission,
                            commission_asset=asset, time=when)
                if side is Side.BUY:
                    base, quote = base + qty - commission, quote - qty * price
                else:
                    base, quote = base - qty, quote + qty * price - commission
            else:
                _, asset, units = step
                ledger.interest(account="cross", asset=asset, units=units, time=when)
                if asset == "BTC":
                    base -= units
                else:
                    quote -= units
        equity_change = base * mark + quote - start
    assert ledger.total({"BTC": mark}) == equity_change
