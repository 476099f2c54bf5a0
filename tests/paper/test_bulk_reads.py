"""The paper exchange's reads of every account at once (the margin monitor's cycle): the same answers as
reading each account on its own, from one read of the ledger, and what another process changed is seen."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.engine import Engine

from adapters.paper import PaperExchange
from adapters.paper.model import Balance, MarginAccount
from chatbot.exchange import AccountSnapshot, AssetBalance, Side, SideEffect
from chatbot.margin import Thresholds

from .helpers import Open, market, paper_config

D = Decimal
SETTINGS = {"prices": {"BTCUSDT": "30000", "ETHUSDT": "2000"}, "cross": {"USDT": "10000"},
            "isolated": {"BTCUSDT": {"USDT": "1000"}, "ETHUSDT": {"USDT": "1000"}}}


async def one_by_one(ex: PaperExchange) -> dict[str | None, AccountSnapshot]:
    return {sym: await ex.account(sym) for sym in [None, *await ex.isolated_symbols()]}


async def in_debt(ex: PaperExchange) -> PaperExchange:
    await ex.place_order(market(Side.BUY, "1", SideEffect.MARGIN_BUY))  # cross: ML 1.5
    await ex.borrow("USDT", D("2000"), "BTCUSDT")
    await ex.place_order(market(Side.BUY, "0.1", isolated=True))
    await ex.borrow("USDT", D("4000"), "ETHUSDT")
    return ex


async def test_accounts_are_every_account_as_read_one_by_one(open_exchange: Open) -> None:
    ex = await in_debt(await open_exchange(**SETTINGS))
    for btc in ("30000", "26000", "21000"):  # the last one liquidates cross and isolated BTCUSDT
        await ex.advance(3600)
        await ex.set_price("BTCUSDT", D(btc))
        bulk = await ex.accounts()
        assert list(bulk) == [None, "BTCUSDT", "ETHUSDT"]
        assert bulk == await one_by_one(ex)
    assert bulk["BTCUSDT"].prices is bulk["ETHUSDT"].prices  # one copy of the prices per read


async def test_accounts_read_the_ledger_once_and_see_another_process(db: Engine) -> None:
    mine = await in_debt(await PaperExchange.open(db, paper_config(**SETTINGS)))
    other = await PaperExchange.open(db, paper_config(**SETTINGS))
    await other.repay("USDT", D("1000"), "ETHUSDT")  # another process changes the ledger
    reads = 0
    revision = mine.store.revision

    def counted() -> int | None:
        nonlocal reads
        reads += 1
        return revision()

    mine.store.revision = counted  # type: ignore[method-assign]
    bulk = await mine.accounts()
    assert reads == 1
    assert bulk["ETHUSDT"].asset("USDT").borrowed < D("3001")  # the repay (after its interest), not 4000
    assert bulk == await one_by_one(other)


async def test_liquidations_since_are_each_accounts_records_from_its_own_start(open_exchange: Open) -> None:
    ex = await in_debt(await open_exchange(**SETTINGS))
    await ex.advance(60)
    await ex.set_price("BTCUSDT", D("21000"))  # cross and isolated BTCUSDT liquidated
    await ex.advance(60)
    now = await ex.now()
    before = now.replace(year=2000)  # long before anything
    for starts in ({None: before, "BTCUSDT": before, "ETHUSDT": before}, {None: now, "BTCUSDT": before}):
        bulk = await ex.liquidations_since(starts)
        for sym, start in starts.items():
            assert bulk.get(sym, []) == await ex.liquidation_records(isolated_symbol=sym, start=start)
    assert set(await ex.liquidations_since({None: before, "BTCUSDT": before, "ETHUSDT": before})) == {
        None, "BTCUSDT"}  # an account with no record may be left out
    assert await ex.liquidations_since({"btcusdt": before}) == {
        "btcusdt": await ex.liquidation_records(isolated_symbol="BTCUSDT", start=before)}


def test_a_balance_is_shown_anew_whenever_a_figure_changes() -> None:
    b = Balance(D("1"), D("0"), D("0"), D("0"))
    shown = b.value("USDT")
    assert b.value("USDT") is shown  # unchanged: the same value, not a new one each cycle
    b.free += D("0.5")
    b.interest = D("0.01")
    assert b.value("USDT") == AssetBalance("USDT", D("1.5"), D("0"), D("0"), D("0.01"))
    b.locked, b.borrowed = D("2"), D("3")
    assert b.value("USDT") == AssetBalance("USDT", D("1.5"), D("2"), D("3"), D("0.01"))
    assert b.value("BTC").asset == "BTC"


def test_an_accounts_balances_are_shown_anew_when_one_changes_comes_or_goes() -> None:
    acct = MarginAccount("ISOLATED:BTCUSDT", "BTCUSDT", Thresholds.isolated_for_leverage(10),
                         {"USDT": Balance(D("10")), "BTC": Balance()})
    shown = acct.assets()
    assert [a.asset for a in shown] == ["BTC", "USDT"] and acct.assets() is shown
    acct.balances["BTC"].free = D("0.1")
    assert acct.assets()[0].free == D("0.1")
    acct.balances["ETH"] = Balance(D("1"))
    assert [a.asset for a in acct.assets()] == ["BTC", "ETH", "USDT"]
    del acct.balances["ETH"]
    acct.balances["BNB"] = Balance(D("2"))  # as many balances as before, not the same ones
    assert [(a.asset, a.free) for a in acct.assets()] == [("BNB", D("2")), ("BTC", D("0.1")), ("USDT", D("10"))]
