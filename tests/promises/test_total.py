"""Promise: bad input gets a short answer about the input, never "Something went wrong".

The parser and every handler are total: the registry's own examples, a missing isolated account,
Unicode digits, and any line Hypothesis builds from the registry's commands and a pool of good and
hostile tokens, sent by any member. Through the core's one entry point (what every adapter calls).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.chain import DATABASE_DOWN, OUR_FAULT
from chatbot.commands.registry import REGISTRY
from tests.core.desk import DeskUnderTest, open_desk

TOKENS = [
    "USDT", "btc", "BTCUSDT", "ethusdt", "100", "0.5", "all", "isolated", "7", "90", "91", "90m", "24h", "alice",
    "Carol", "trader", "admin", "margin", "silent", "on", "abc123", "telegram:1234", "discord:99",
    "²", "١٢", "-5", "1e3", "NaN", "∞", "0", "0.000000001", "BTCUSDT\u200b", "ＢＴＣ", "'; DROP TABLE members;--",
    "%s", "{}", "x" * 300, "telegram:²", "telegram:99999999999999999999999", "discord:9223372036854775807",
    "preview_tolerance_pct", "approval_notional_usdt", "-1", "999999999999999999", "0x10", "1_000",
]
NAMES = [*sorted(REGISTRY), "nope", "STATUS", "confirm@DeskBot"]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DeskUnderTest, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    path = Path(tmp_path_factory.mktemp("total")) / "desk.db"
    d = loop.run_until_complete(open_desk(f"sqlite:///{path}"))
    yield d, loop
    loop.run_until_complete(d.close())
    loop.close()


def ask(desk: tuple[DeskUnderTest, asyncio.AbstractEventLoop], who: str, text: str) -> str:
    d, loop = desk
    reply = loop.run_until_complete(d.say(who, text))
    assert reply.title not in (OUR_FAULT.title, DATABASE_DOWN.title), (who, text, reply)
    assert "Traceback" not in reply.text()
    return reply.title


def test_the_registry_examples_and_known_traps_get_clear_answers(desk: tuple[DeskUnderTest, asyncio.AbstractEventLoop],
                                                                  ) -> None:
    assert "no isolated BTCUSDT margin account" in ask(desk, "dave", "/status BTCUSDT")
    assert "not a valid asset" in ask(desk, "dave", "/interest ²")
    assert "٣" in ask(desk, "dave", "/interest BTC ٣")
    for spec in REGISTRY.values():
        for example in spec.example.split("  or  "):
            ask(desk, "alice", example)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(who=st.sampled_from(["alice", "bob", "carol", "dave"]), name=st.sampled_from(NAMES),
       args=st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=12)), max_size=4))
def test_any_line_built_from_the_registry_gets_an_answer_about_the_input(
        desk: tuple[DeskUnderTest, asyncio.AbstractEventLoop], who: str, name: str, args: list[str]) -> None:
    ask(desk, who, " ".join([f"/{name}", *args]))
