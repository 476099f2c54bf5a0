"""Loans and transfers on the paper exchange: Binance's borrow/repay gates and error codes, async
loans, loan and transfer records, the transfer-out cap, the hourly interest schedule, Decimal-only amounts.

Each test pins one rule of the reference (§4, §5) or one [choice] the paper exchange makes.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from chatbot.exchange import (
    CROSS,
    SPOT,
    LoanStatus,
    LoanType,
    Side,
    SideEffect,
    isolated_account,
)
from chatbot.margin import Band

from .helpers import D, Open, code_of, funded, market, utc

# ---------------------------------------------------------------------------- borrow / repay gates


async def test_borrow_gates_and_codes(open_exchange: Open) -> None:
    ex = await funded(open_exchange, prices={"BTCUSDT": "35000", "ETHUSDT": "2000"},
                      min_borrow={"BTC": "0.001"}, borrow_limits={"USDT": "1000"},
                      system_inventory={"BTC": "0.3"})
    assert await code_of(ex.borrow("ETH", D("1"))) == -3012  # no daily rate: borrowing banned
    assert await code_of(ex.borrow("BTC", D("0.0001"))) == -3013  # below min_borrow
    assert await code_of(ex.borrow("BTC", D("2"))) == -3006  # beyond the 3x margin gate (1.14)
    assert await code_of(ex.borrow("USDT", D("1000.01"))) == -11008  # the VIP limit binds
    assert await ex.max_borrowable("USDT") == D("1000")
    assert await code_of(ex.borrow("BTC", D("0.4"))) == -3045  # system inventory 0.3
    assert await ex.max_borrowable("BTC") == D("0.3")
    assert await code_of(ex.borrow("DOGE", D("1"))) == -3027
    assert await code_of(ex.borrow("BTC", D("0.000000001"))) == -1111
    assert await code_of(ex.borrow("BTC", D("0"))) == -1102
    assert await code_of(ex.borrow("USDT", D("1"), "BTCUSDT")) == -3003  # isolated never funded
    assert await code_of(ex.borrow("USDT", D("1"), "NOPEUSDT")) == -1121
    await ex.borrow("BTC", D("0.3"))
    assert await code_of(ex.repay("BTC", D("0.31"))) == -3015  # more than borrowed + interest
    await ex.place_order(market(Side.SELL, "0.3"))
    assert await code_of(ex.repay("BTC", D("0.2"))) == -3041  # not enough free BTC
    assert len(await ex.loan_records(LoanType.BORROW)) == 1


async def test_borrow_refused_with_3008_at_margin_call(open_exchange: Open) -> None:
    ex = await open_exchange(prices={"BTCUSDT": "30000"}, cross={"USDT": "10000"})
    await ex.place_order(market(Side.BUY, "1", SideEffect.MARGIN_BUY))
    await ex.set_price("BTCUSDT", D("26000"))
    assert (await ex.account()).band == Band.MARGIN_CALL
    assert await code_of(ex.borrow("BTC", D("0.001"))) == -3008


async def test_locked_account_refuses_everything_with_3023(open_exchange: Open) -> None:
    ex = await funded(open_exchange)
    ex.book.accounts[CROSS].locked = True  # as during a liquidation
    assert await code_of(ex.borrow("BTC", D("0.1"))) == -3023
    assert await code_of(ex.transfer("USDT", D("1"), CROSS, SPOT)) == -3023
    assert await code_of(ex.transfer("USDT", D("1"), SPOT, CROSS)) == -3023
    assert await code_of(ex.place_order(market(Side.BUY, "0.01"))) == -3023
    assert (await ex.account()).locked


async def test_async_loans_pending_then_confirmed_or_failed(open_exchange: Open) -> None:
    ex = await funded(open_exchange, async_loans=True)
    tx = await ex.borrow("BTC", D("1.1"))
    [rec] = await ex.loan_records(LoanType.BORROW, tx_id=tx)
    assert rec.status == LoanStatus.PENDING
    assert (await ex.account()).asset("BTC").borrowed == 0
    assert await code_of(ex.borrow("BTC", D("0.01"))) == -3007
    await ex.advance(0)
    [rec] = await ex.loan_records(LoanType.BORROW, tx_id=tx)
    assert rec.status == LoanStatus.CONFIRMED
    snap = await ex.account()
    assert snap.asset("BTC").borrowed == D("1.1") and snap.asset("BTC").interest == D("0.000011")

    tx2 = await ex.repay("BTC", D("1.1"))
    await ex.advance(0)
    [rec2] = await ex.loan_records(LoanType.REPAY, tx_id=tx2)
    assert rec2.status == LoanStatus.CONFIRMED
    assert (rec2.interest, rec2.principal) == (D("0.000011"), D("1.099989"))

    tx3 = await ex.borrow("BTC", D("1.1"))  # allowed now (max 1.14…), but not after BTC rises
    await ex.set_price("BTCUSDT", D("40000"))
    before = (await ex.account()).asset("BTC")
    await ex.advance(0)
    [rec3] = await ex.loan_records(LoanType.BORROW, tx_id=tx3)
    assert rec3.status == LoanStatus.FAILED
    assert (await ex.account()).asset("BTC") == before  # a FAILED loan changes nothing


async def test_loan_record_filters(open_exchange: Open) -> None:
    ex = await funded(open_exchange, start_time=utc(2024, 1, 1))
    await ex.transfer("USDT", D("1000"), SPOT, isolated_account("BTCUSDT"))
    a = await ex.borrow("BTC", D("0.1"))
    await ex.advance(3600)
    b = await ex.borrow("USDT", D("100"))
    c = await ex.borrow("USDT", D("100"), "BTCUSDT")
    assert [r.tx_id for r in await ex.loan_records(LoanType.BORROW)] == [b, a]  # newest first, cross only
    assert [r.tx_id for r in await ex.loan_records(LoanType.BORROW, asset="USDT")] == [b]
    assert [r.tx_id for r in await ex.loan_records(LoanType.BORROW, isolated_symbol="BTCUSDT")] == [c]
    assert [r.tx_id for r in await ex.loan_records(LoanType.BORROW, start=utc(2024, 1, 1, 0, 30))] == [b]
    assert [r.tx_id for r in await ex.loan_records(LoanType.BORROW, end=utc(2024, 1, 1, 0, 30))] == [a]
    assert await ex.loan_records(LoanType.REPAY) == []


# ---------------------------------------------------------------------------- transfers


async def test_transfers_between_wallets_and_isolated_creation(open_exchange: Open) -> None:
    ex = await funded(open_exchange, prices={"BTCUSDT": "35000", "ETHUSDT": "2000"})
    assert await ex.isolated_symbols() == []
    snap = await ex.account("ETHUSDT")  # a configured pair, never funded: empty, not an error
    assert snap.total_asset_value == 0 and [a.asset for a in snap.assets] == ["ETH", "USDT"]
    assert await code_of(ex.transfer("BTC", D("0.5"), SPOT, isolated_account("ETHUSDT"))) == -3027
    assert await code_of(ex.transfer("USDT", D("1"), isolated_account("ETHUSDT"), SPOT)) == -3003
    assert await code_of(ex.transfer("USDT", D("1"), SPOT, "FUTURES")) == -1102
    assert await code_of(ex.transfer("USDT", D("99999"), SPOT, CROSS)) == -3041
    t1 = await ex.transfer("BTC", D("0.5"), SPOT, isolated_account("BTCUSDT"))
    t2 = await ex.transfer("USDT", D("500"), CROSS, isolated_account("ETHUSDT"))
    assert await ex.isolated_symbols() == ["BTCUSDT", "ETHUSDT"]
    assert (await ex.account("BTCUSDT")).asset("BTC").free == D("0.5")
    assert (await ex.spot_balances())["BTC"] == D("0.5")
    records = await ex.transfer_records()
    assert [(r.tx_id, r.from_account, r.to_account) for r in records] == [
        (t2, CROSS, "ISOLATED:ETHUSDT"), (t1, SPOT, "ISOLATED:BTCUSDT")]
    assert [r.tx_id for r in await ex.transfer_records(account=SPOT)] == [t1]


async def test_transfer_out_capped_by_max_transferable(open_exchange: Open) -> None:
    ex = await funded(open_exchange)
    await ex.borrow("BTC", D("0.2"))  # ML = 27000 / 7000.07 ≈ 3.857
    cap = await ex.max_transferable("USDT")
    assert cap == D("12999.86")  # min(free 20,000, 27,000 − 2 × 7,000.07)
    assert await code_of(ex.transfer("USDT", cap + D("0.01"), CROSS, SPOT)) == -3020
    await ex.transfer("USDT", cap, CROSS, SPOT)
    assert (await ex.account()).margin_level >= 2


# ---------------------------------------------------------------------------- interest schedule


async def test_interest_aggregates_per_hour_and_charges_the_boundary_hour(open_exchange: Open) -> None:
    ex = await funded(open_exchange, start_time=utc(2024, 1, 1, 0, 10), cross={"USDT": "20000", "BTC": "0.1"})
    await ex.borrow("BTC", D("0.5"))
    await ex.advance(600)
    await ex.borrow("BTC", D("0.5"))  # same hour: one ON_BORROW row with both principals
    [row] = await ex.interest_history(asset="BTC")
    assert (row.type, row.principal, row.interest) == ("ON_BORROW", D("1"), D("0.00001"))
    assert row.time == utc(2024, 1, 1)
    await ex.advance(40 * 60)  # exactly 01:00:00.000 → that hour is charged before the repay
    snap = await ex.account()
    assert snap.asset("BTC").interest == D("0.00002")
    await ex.repay("BTC", D("1.00002"))
    await ex.advance(5 * 3600)
    rows = await ex.interest_history(asset="BTC")
    assert [(r.type, r.time) for r in rows] == [("PERIODIC", utc(2024, 1, 1, 1)), ("ON_BORROW", utc(2024, 1, 1))]
    assert all(r.interest > 0 for r in rows)


def test_decimal_inputs_only() -> None:
    from adapters.paper.exchange import _dec

    assert _dec(3) == Decimal(3) and _dec("0.1") == Decimal("0.1")
    with pytest.raises(TypeError):
        _dec(0.1)
