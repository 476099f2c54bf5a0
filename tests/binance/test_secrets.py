"""The API key and secret never appear in logs, replies, audit rows, the database or exception text.

Sentinel credentials go through a whole scenario — start-up, status, a borrow, an order whose answer
is lost, a refusal, a rate limit, a refused secret — with every logger at DEBUG; then the captured
logs, every reply, every exception message and a dump of every table are searched for them.
"""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from adapters.binance import connect
from chatbot.config import ConfigError
from chatbot.exchange import ExchangeError, OrderRequest, OrderType, Side
from tests.binance.live import FAST, SYMBOLS, dump_database, live_settings, open_live_desk
from tests.fakes.binance import FakeBinance

KEY = "SENTINELkeyAAAA1111bbbb2222cccc3333dddd4444eeee5555ffff6666gggg7777"
SECRET = "SENTINELsecretZZZZ9999yyyy8888xxxx7777wwww6666vvvv5555uuuu4444tttt"


def clean(text: str) -> bool:
    return KEY not in text and SECRET not in text and KEY[:24] not in text and SECRET[:24] not in text


async def test_secrets_absent_everywhere(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    async with FakeBinance(api_key=KEY, api_secret=SECRET) as fake:
        desk = await open_live_desk(fake, db_url)  # the settings carry the fake's (sentinel) key and secret
        try:
            texts.append((await desk.say("dave", "/status")).text())
            texts.append((await desk.confirmed("carol", "/borrow USDT 1000")).text())
            fake.fail("POST", "/sapi/v1/margin/order", "503_after")
            texts.append((await desk.confirmed("carol", "/short BTCUSDT 0.1")).text())
            fake.fail("POST", "/sapi/v1/margin/borrow-repay", "error", code=-3045, msg="The system does not have "
                                                                                     "enough asset now.")
            texts.append((await desk.confirmed("carol", "/borrow USDT 10")).text())
            fake.fail("GET", "/sapi/v1/margin/account", "429", retry_after=1)
            texts.append((await desk.say("dave", "/status")).text())
            with pytest.raises(ExchangeError) as refused:
                await desk.exchange.place_order(OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT,
                                                             quantity=fake.book.symbols["BTCUSDT"].min_qty))
            texts.append(str(refused.value))
            logging.getLogger("tests.secrets").error("a careless log line: %s / %s", KEY, SECRET)
        finally:
            await desk.close()
        with pytest.raises(ConfigError) as wrong:
            await connect(live_settings(fake, binance_api_secret=SecretStr(SECRET[::-1])),
                          engine=None, timeouts=FAST, options=SYMBOLS)
        texts.append(str(wrong.value))
        assert "-1022" in str(wrong.value)
        texts.append(dump_database(desk.engine))
    assert "a careless log line: *** / ***" in caplog.text  # the redactor is installed and masks both
    assert "binance: connected" in caplog.text  # logs were captured at all
    for text in [caplog.text, *texts, *(r.getMessage() for r in caplog.records)]:
        assert clean(text)
    assert all(clean(str(r.exc_info[1])) for r in caplog.records if r.exc_info and r.exc_info[1] is not None)
