"""Every account at once on live endpoints (the margin monitor's cycle): the same snapshots as one account at
a time, from one all-pairs isolated read instead of one per pair; liquidation records per account."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from adapters.binance import connect
from chatbot.exchange import AccountSnapshot, OrderRequest, OrderType, Side
from tests.binance.live import FAST, QUICK, SYMBOLS, live_settings
from tests.fakes.binance import FakeBinance, default_config

D = Decimal
ISOLATED = "/sapi/v1/margin/isolated/account"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def same_moment(snaps: dict[str | None, AccountSnapshot]) -> dict[str | None, AccountSnapshot]:
    return {sym: replace(s, taken_at=EPOCH) for sym, s in snaps.items()}


async def test_accounts_read_every_pair_at_once_and_agree_with_one_by_one() -> None:
    config = default_config(isolated={"BTCUSDT": {"USDT": "1000"}, "ETHUSDT": {"USDT": "1000"}})
    async with FakeBinance(config) as fake:
        ex, _ = await connect(live_settings(fake), engine=None, timeouts=FAST, consistency=QUICK, options=SYMBOLS)
        try:
            await ex.borrow("USDT", D("2000"), "BTCUSDT")
            await ex.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.MARKET, quantity=D("0.08"),
                                              isolated=True))  # 2800 / 2000 = 1.4
            await ex.borrow("USDT", D("4000"), "ETHUSDT")
            await ex.accounts()  # warm: the pairs' tiers are cached from here on
            ex._isolated = None  # as when the last all-pairs answer is more than FRESH_SECONDS old
            mark = len(fake.seen)
            bulk = await ex.accounts()
            reads = [s for s in fake.seen[mark:] if s.path == ISOLATED]
            assert len(reads) == 1 and "symbols" not in reads[0].params  # one all-pairs read, not one per pair
            assert list(bulk) == [None, "BTCUSDT", "ETHUSDT"]
            one_by_one = {sym: await ex.account(sym) for sym in [None, *await ex.isolated_symbols()]}
            assert same_moment(bulk) == same_moment(one_by_one)
            assert bulk["ETHUSDT"].margin_level < D("1.25") < bulk["BTCUSDT"].margin_level  # 5000 / (4000 + interest)

            await fake.set_price("BTCUSDT", "21000")  # isolated BTCUSDT: 1680 / 2000, liquidated
            start = (await ex.now()).replace(year=2020)
            starts = {None: start, "BTCUSDT": start, "ETHUSDT": start}
            found = await ex.liquidations_since(starts)
            assert set(found) == {"BTCUSDT"}  # accounts with no record are left out
            assert found["BTCUSDT"] == await ex.liquidation_records(isolated_symbol="BTCUSDT", start=start)
        finally:
            await ex.close()
