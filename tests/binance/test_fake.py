"""The fake Binance itself: it checks signatures and timestamps as Binance does, refuses what Binance
refuses (removed endpoints, exponent-form numbers, ':' in a signed body value), so the adapter's tests
against it mean something. Driven with python-binance's real AsyncClient."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from binance import AsyncClient
from binance.exceptions import BinanceAPIException

from tests.fakes.binance import API_KEY, API_SECRET, FakeBinance, sign


@pytest.fixture
async def client(fake: FakeBinance) -> AsyncIterator[AsyncClient]:
    c = AsyncClient(API_KEY, API_SECRET)
    c.API_URL, c.MARGIN_API_URL = f"{fake.base_url}/api", f"{fake.base_url}/sapi"
    c.timestamp_offset = (await c.get_server_time())["serverTime"] - int(time.time() * 1000)
    yield c
    await c.close_connection()


def test_signature_matches_binances_documented_example() -> None:
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    payload = ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000"
               "&timestamp=1499827319559")
    assert sign(secret, payload) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


async def test_signed_calls_pass_and_a_wrong_secret_gets_1022(fake: FakeBinance, client: AsyncClient) -> None:
    assert (await client.get_margin_account())["marginLevel"] == "999.00000000"
    client.API_SECRET = "wrong" + API_SECRET[5:]
    with pytest.raises(BinanceAPIException) as info:
        await client.get_margin_account()
    assert (info.value.code, info.value.status_code) == (-1022, 400)


async def test_stale_timestamp_gets_1021(fake: FakeBinance, client: AsyncClient) -> None:
    client.timestamp_offset -= 20_000
    with pytest.raises(BinanceAPIException) as info:
        await client.get_margin_account()
    assert info.value.code == -1021


@pytest.mark.parametrize("call", [
    lambda c: c.create_margin_loan(asset="USDT", amount="1"),
    lambda c: c.repay_margin_loan(asset="USDT", amount="1"),
    lambda c: c.transfer_spot_to_margin(asset="USDT", amount="1"),
    lambda c: c.transfer_spot_to_isolated_margin(asset="USDT", symbol="BTCUSDT", amount="1"),
    lambda c: c.get_margin_asset(asset="BTC"),
    lambda c: c.get_margin_symbol(symbol="BTCUSDT"),
])
async def test_removed_endpoints_answer_with_an_error(fake: FakeBinance, client: AsyncClient, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BinanceAPIException) as info:
        await call(client)
    assert info.value.status_code == 404
    assert fake.book.loans == {} and fake.book.transfers == []


async def test_colon_in_a_client_id_fails_the_strict_signature_check(fake: FakeBinance, client: AsyncClient) -> None:
    with pytest.raises(BinanceAPIException) as info:
        await client.create_margin_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.1",
                                         newClientOrderId="bot:1")
    assert info.value.code == -1022
    assert fake.book.orders == {}


async def test_a_float_amount_is_refused(fake: FakeBinance, client: AsyncClient) -> None:
    with pytest.raises(BinanceAPIException) as info:
        await client.margin_borrow_repay(asset="USDT", amount=0.00001, isIsolated="FALSE", type="BORROW")
    assert info.value.code == -1100  # python-binance sent str(0.00001) == "1e-05"
    assert fake.requests("POST", "/sapi/v1/margin/borrow-repay")[0].params["amount"] == "1e-05"
