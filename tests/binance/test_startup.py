"""Start-up refusals: a dangerous or broken key, bad settings, a paper database — before any trading call."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from adapters.binance import BinanceExchange, BinanceOptions, connect
from adapters.binance.transport import CLOCK_SAMPLES
from chatbot.config import ConfigError, DeskConfig
from chatbot.replies import Actor, Request, Severity
from chatbot.runtime import open_desk
from tests.binance.live import FAST, SYMBOLS, live_settings
from tests.core.desk import MEMBERS, PAPER
from tests.fakes.binance import FakeBinance

CHECKS = [("GET", "/api/v3/time")] * CLOCK_SAMPLES + [("GET", "/sapi/v1/account/apiRestrictions")]


def calls(fake: FakeBinance) -> list[tuple[str, str]]:
    return [(s.method, s.path) for s in fake.seen]


async def refused(fake: FakeBinance, **settings: Any) -> str:
    with pytest.raises(ConfigError) as info:
        await connect(live_settings(fake, **settings), engine=None, timeouts=FAST, options=SYMBOLS)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(("restriction", "expected"), [
    ({"enableWithdrawals": True}, "BINANCE_API_KEY has withdrawals enabled"),
    ({"enableMargin": False}, "BINANCE_API_KEY has no margin permission"),
    ({"enableSpotAndMarginTrading": False}, "BINANCE_API_KEY cannot trade"),
])
async def test_dangerous_or_useless_key_is_refused_before_any_trading_call(
        fake: FakeBinance, restriction: dict[str, bool], expected: str) -> None:
    fake.restrictions = restriction
    assert (await refused(fake)).startswith(expected)
    assert calls(fake) == CHECKS


async def test_key_without_ip_allow_list_is_refused_unless_accepted(fake: FakeBinance) -> None:
    fake.restrictions = {"ipRestrict": False}
    assert (await refused(fake)).startswith("BINANCE_API_KEY is not IP-restricted")
    exchange, report = await connect(live_settings(fake), engine=None, timeouts=FAST,
                                     options=BinanceOptions(symbols="BTCUSDT", max_clock_offset_ms=0,
                                                            allow_unrestricted_ip=True))
    await exchange.close()
    assert not report.ip_restricted


async def test_paper_mode_never_opens_a_binance_client(fake: FakeBinance, db_url: str) -> None:
    """Credentials set and Binance reachable, but CHATBOT_EXCHANGE=paper: not one request leaves."""
    assert (await refused(fake, chatbot_exchange="paper")).startswith("CHATBOT_EXCHANGE=paper: the Binance adapter")
    paper = live_settings(fake, db_url, chatbot_exchange="paper")
    desk = await open_desk(paper, DeskConfig(members=MEMBERS, paper=PAPER))
    try:
        for text in ("/status", "/borrow USDT 1000", "/confirm", "/long BTCUSDT 0.02", "/confirm",
                     "/short BTCUSDT 0.01", "/confirm", "/close BTCUSDT", "/confirm", "/repay USDT all", "/confirm",
                     "/interest"):
            reply = await desk.core.handle(Request(actor=Actor("console", "alice"), text=text))
            assert reply.severity is not Severity.ERROR, (text, reply.text())
    finally:
        await desk.close()
    assert fake.seen == []


async def test_wrong_secret_is_refused_with_1022(fake: FakeBinance) -> None:
    message = await refused(fake, binance_api_secret=SecretStr("not-the-secret-of-this-key-0123456789"))
    assert message.startswith("BINANCE_API_SECRET: Binance rejected the request signature (-1022)")
    assert [s.code for s in fake.requests("GET", "/sapi/v1/account/apiRestrictions")] == [-1022]
    assert calls(fake) == CHECKS


async def test_unknown_key_is_refused(fake: FakeBinance) -> None:
    message = await refused(fake, binance_api_key=SecretStr("someoneElsesKey0123456789abcdef0123456789"))
    assert message.startswith("BINANCE_API_KEY: Binance refused the key (-2015")


@pytest.mark.parametrize(("settings", "expected"), [
    ({"binance_api_key": None}, "BINANCE_API_KEY is not set"),
    ({"binance_api_key": SecretStr("  ")}, "BINANCE_API_KEY is not set"),
    ({"binance_api_secret": None}, "BINANCE_API_SECRET is not set"),
    ({"binance_api_base_url": "api.binance.com"}, "BINANCE_API_BASE_URL must be a root URL"),
    ({"binance_api_base_url": "ftp://api.binance.com"}, "BINANCE_API_BASE_URL must be a root URL"),
    ({"binance_api_base_url": "https://api.binance.com/api"}, "BINANCE_API_BASE_URL must be a root URL"),
    ({"binance_api_base_url": "https://api.binance.com?x=1"}, "BINANCE_API_BASE_URL must be a root URL"),
])
async def test_bad_settings_name_the_setting_and_send_nothing(fake: FakeBinance, settings: dict[str, Any],
                                                              expected: str) -> None:
    assert (await refused(fake, **settings)).startswith(expected)
    assert fake.seen == []


async def test_unreachable_base_url(fake: FakeBinance) -> None:
    message = await refused(fake, binance_api_base_url="http://127.0.0.1:9")
    assert message.startswith("BINANCE_API_BASE_URL: cannot reach Binance")


async def test_desk_pair_must_be_a_margin_pair(fake: FakeBinance) -> None:
    with pytest.raises(ConfigError, match="BINANCE_SYMBOLS: DOGEUSDT is not a margin pair on Binance"):
        await connect(live_settings(fake), engine=None, timeouts=FAST, options=BinanceOptions(symbols="DOGEUSDT"))
    with pytest.raises(ValueError, match="BINANCE_SYMBOLS must be pairs"):
        BinanceOptions(symbols="BTC/USDT")


async def test_paper_database_refuses_to_start_live(fake: FakeBinance, db_url: str) -> None:
    paper = await open_desk(live_settings(fake, db_url, chatbot_exchange="paper"), DeskConfig())
    await paper.close()
    with pytest.raises(ConfigError, match="holds paper exchange data and CHATBOT_EXCHANGE=binance"):
        await open_desk(live_settings(fake, db_url), DeskConfig())
    assert fake.seen == []  # refused before the exchange was opened


async def test_live_desk_through_the_runtime(fake: FakeBinance, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINANCE_SYMBOLS", "BTCUSDT")
    live = await open_desk(live_settings(fake, db_url), DeskConfig())
    try:
        assert isinstance(live.exchange, BinanceExchange)
        assert live.exchange.desk_symbols == ("BTCUSDT",)
        assert not live.core.paper
    finally:
        await live.close()
    with pytest.raises(ConfigError, match="holds binance exchange data and CHATBOT_EXCHANGE=paper"):
        await open_desk(live_settings(fake, db_url, chatbot_exchange="paper"), DeskConfig())
