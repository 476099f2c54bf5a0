"""The parser is total: any text gives a validated command or a typed error — never an exception,
never a non-positive, NaN, infinite or over-precise amount, never an unknown or look-alike ticker."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.commands.parser import Market, ParsedCommand, ParseError, parse
from chatbot.commands.registry import REGISTRY, ArgKind
from chatbot.exchange import SymbolInfo
from chatbot.money import decimals_of

MARKET = Market({
    "BTCUSDT": SymbolInfo("BTCUSDT", "BTC", "USDT", Decimal("0.00001"), Decimal("0.01"), Decimal("0.00001"),
                          Decimal("5")),
    "ETHUSDT": SymbolInfo("ETHUSDT", "ETH", "USDT", Decimal("0.0001"), Decimal("0.01"), Decimal("0.0001"),
                          Decimal("5")),
})


def check_valid(result: ParsedCommand) -> None:
    for spec_arg in result.spec.args:
        value = result.args.get(spec_arg.name)
        if value is None or value == "all":
            continue
        if spec_arg.kind in (ArgKind.AMOUNT, ArgKind.AMOUNT_OR_ALL, ArgKind.PRICE):
            assert isinstance(value, Decimal)
            assert value.is_finite() and value > 0
            assert decimals_of(value) <= 8
        if spec_arg.kind is ArgKind.SYMBOL:
            assert value in MARKET.symbols
        if spec_arg.kind is ArgKind.ASSET:
            assert value in MARKET.assets


command_words = st.sampled_from([f"/{n}" for n in REGISTRY] + ["/BORROW", "/status@DeskBot", "/nope", "borrow"])
arg_words = st.one_of(
    st.sampled_from(["BTC", "usdt", "BTCUSDT", "ethusdt", "all", "isolated", "1000", "0.5", "0", "-1", "1e5",
                     "NaN", "Infinity", "0.000000001", "1,000", "１０", "ВТС", "BTCUSDT\u200b", "24h", "90m", "7"]),
    st.text(max_size=12),
)


@settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=80), st.builds(lambda c, a: " ".join([c, *a]), command_words,
                                                  st.lists(arg_words, max_size=4))))
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    result = parse(text, MARKET)
    assert isinstance(result, ParsedCommand | ParseError)
    if isinstance(result, ParsedCommand):
        check_valid(result)
    else:
        assert result.message and "\n" not in result.message


@pytest.mark.parametrize("text", ["/borrow USDT 0", "/borrow USDT -5", "/borrow USDT NaN", "/borrow USDT 1e5",
                                  "/borrow USDT Infinity", "/borrow USDT 0.000000001", "/borrow USDT 1,000",
                                  "/long BTCUSDT 0.000001", "/borrow ВТС 1", "/borrow DOGE 1",
                                  "/long BTCUSDT", "/long BTCUSDT 1 extra", "/price BTCUSDT 1.001"])
def test_bad_inputs_refused_with_usage(text: str) -> None:
    result = parse(text, MARKET)
    assert isinstance(result, ParseError), text
    assert result.hint.startswith("Usage: /"), result


def test_good_inputs() -> None:
    r = parse("/borrow usdt 1000.5", MARKET)
    assert isinstance(r, ParsedCommand) and r.args == {"asset": "USDT", "amount": Decimal("1000.5")}
    r = parse("/repay BTC all BTCUSDT", MARKET)
    assert isinstance(r, ParsedCommand) and r.args == {"asset": "BTC", "amount": "all", "symbol": "BTCUSDT"}
    r = parse("/short btcusdt 0.1 isolated", MARKET)
    assert isinstance(r, ParsedCommand) and r.args == {"symbol": "BTCUSDT", "qty": Decimal("0.1"), "isolated": True}
    r = parse("/interest BTC 7", MARKET)
    assert isinstance(r, ParsedCommand) and r.args == {"asset": "BTC", "days": 7}
    r = parse("/interest 7", MARKET)
    assert isinstance(r, ParsedCommand) and r.args == {"days": 7}
    r = parse("/clock 90m", MARKET)
    assert isinstance(r, ParsedCommand) and r.args == {"duration": 5400}
    r = parse("/status@DeskBot", MARKET)
    assert isinstance(r, ParsedCommand) and r.name == "status"
    r = parse("/reject 7f3a way too large", MARKET)
    assert isinstance(r, ParsedCommand) and r.args == {"id": "7f3a", "reason": "way too large"}


def test_named_arguments_are_checked_like_typed_ones() -> None:
    from chatbot.commands.parser import parse_named

    named = parse_named("borrow", {"asset": "usdt", "amount": "1000"}, MARKET)
    assert isinstance(named, ParsedCommand) and named.args == parse("/borrow USDT 1000", MARKET).args  # type: ignore[union-attr]
    for values, message in (({"asset": "USDT", "amount": "1e3"}, "AMOUNT"), ({"asset": "USDT"}, "Missing AMOUNT"),
                            ({"asset": "USDT", "amount": "5", "colour": "red"}, "Unexpected 'colour'")):
        refused = parse_named("borrow", values, MARKET)
        assert isinstance(refused, ParseError) and message in refused.message
    reject = parse_named("reject", {"reason": "too large"}, MARKET)
    assert isinstance(reject, ParsedCommand) and reject.args == {"reason": "too large"}
    flag = parse_named("long", {"symbol": "BTCUSDT", "qty": "0.1", "isolated": True}, MARKET)
    assert isinstance(flag, ParsedCommand) and flag.args["isolated"] is True
