"""The slash-command schema Discord receives is the registry's, and options become the typed line."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.discord import DiscordBot
from adapters.discord.commands import command_line, slash_specs
from chatbot.commands.registry import REGISTRY, ArgKind, visible_to
from chatbot.core import DeskCore
from tests.chat_desk import MakeCore
from tests.discord.desk import CAROL, MakeBot
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord_wire import GUILD_ID

STRING, INTEGER, BOOLEAN = 3, 4, 5  # Discord option types
EXPECTED_TYPE = {ArgKind.DAYS: INTEGER, ArgKind.FLAG: BOOLEAN}  # everything else is a string


def by_name(schema: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in schema}


async def test_the_synced_schema_is_the_registry(fake: FakeDiscord, core: DeskCore, bot: DiscordBot) -> None:
    (sync,) = fake.calls_of("sync_commands")
    assert sync.method == "PUT" and sync.path == f"/applications/{fake.calls_of('app_info')[0].result['id']}/commands"
    schema = fake.commands[None]
    # Every command some member could run on Discord, in registry order; no console-only, no drills
    # on a live desk (this one stands in for live).
    everything = {s.name for role in ("viewer", "trader", "admin") for s in visible_to(role, platform="discord",
                                                                                       paper=False)}
    assert [c["name"] for c in schema] == [name for name in REGISTRY if name in everything]
    assert "as" not in everything and "clock" not in everything and {"borrow", "approve", "halt"} <= everything
    assert "price" in everything  # quotes for everyone; `/price SYMBOL PRICE` stays the paper drill
    for command in schema:
        spec = REGISTRY[command["name"]]
        assert command["description"] == spec.summary[:100]
        options = command.get("options", [])
        assert [o["name"] for o in options] == [a.name for a in spec.args]  # the registry's order
        for option, arg in zip(options, spec.args, strict=True):
            assert option["type"] == EXPECTED_TYPE.get(arg.kind, STRING), (spec.name, arg.name)
            assert option.get("required", False) is arg.required
            if arg.help:
                assert option["description"] == arg.help
            assert [c["value"] for c in option.get("choices", [])] == list(arg.choices)
            assert bool(option.get("autocomplete")) is (arg.kind in (ArgKind.ASSET, ArgKind.SYMBOL)
                                                        and not arg.choices)
    # Concretely, for the commands a desk uses most:
    borrow = by_name(schema)["borrow"]["options"]
    assert [(o["name"], o["type"], o.get("required", False)) for o in borrow] == [
        ("asset", STRING, True), ("amount", STRING, True), ("symbol", STRING, False)]
    assert [(o["name"], o["type"]) for o in by_name(schema)["long"]["options"]] == [
        ("symbol", STRING), ("qty", STRING), ("isolated", BOOLEAN)]
    assert by_name(schema)["interest"]["options"][1]["type"] == INTEGER
    assert [c["name"] for c in by_name(schema)["grant"]["options"][1]["choices"]] == ["viewer", "trader", "admin"]


async def test_paper_desks_get_the_drills(fake: FakeDiscord, make_core: MakeCore, make_bot: MakeBot) -> None:
    core = await make_core(paper=True)
    await make_bot(core)
    price = by_name(fake.commands[None])["price"]
    assert [(o["name"], o["type"]) for o in price["options"]] == [("symbol", STRING), ("price", STRING)]
    assert "clock" in by_name(fake.commands[None]) and "as" not in by_name(fake.commands[None])


async def test_a_guild_id_syncs_to_that_guild_only(fake: FakeDiscord, core: DeskCore, make_bot: MakeBot) -> None:
    await make_bot(core, guild_id=int(GUILD_ID))
    (sync,) = fake.calls_of("sync_commands")
    assert sync.path.endswith(f"/guilds/{GUILD_ID}/commands") and None not in fake.commands
    assert [c["name"] for c in fake.commands[GUILD_ID]] == [s.name for s in slash_specs(paper=False)]
    ix = await fake.slash(CAROL, "status")  # guild commands dispatch like global ones
    (reply,) = await fake.wait_replies(ix)
    assert "Status" in fake.text_of(reply)


async def test_symbols_and_assets_autocomplete_from_the_market(fake: FakeDiscord, core: DeskCore,
                                                               bot: DiscordBot) -> None:
    async def complete(command: str, options: dict[str, Any], focused: str) -> list[str]:
        ix = await fake.autocomplete(CAROL, command, options, focused)
        await fake.wait_until(lambda: ix.choices is not None)
        assert ix.choices is not None
        return [c["value"] for c in ix.choices]

    assert await complete("borrow", {"asset": "us"}, "asset") == ["USDT"]
    assert await complete("borrow", {"asset": ""}, "asset") == sorted(core.market.assets)
    assert await complete("status", {"symbol": "eth"}, "symbol") == ["ETHUSDT"]
    assert await complete("long", {"symbol": "usdt"}, "symbol") == ["BTCUSDT", "ETHUSDT"]
    assert await complete("status", {"symbol": "XRP"}, "symbol") == []


@pytest.mark.parametrize(("command", "values", "line"), [
    ("borrow", {"asset": "USDT", "amount": "1000"}, "/borrow USDT 1000"),
    ("borrow", {"asset": "usdt", "amount": "1000", "symbol": "BTCUSDT"}, "/borrow usdt 1000 BTCUSDT"),
    ("long", {"symbol": "BTCUSDT", "qty": "0.1", "isolated": True}, "/long BTCUSDT 0.1 isolated"),
    ("long", {"symbol": "BTCUSDT", "qty": "0.1", "isolated": False}, "/long BTCUSDT 0.1"),
    ("interest", {"days": 7}, "/interest 7"),
    ("interest", {"asset": "BTC", "days": 7}, "/interest BTC 7"),
    ("reject", {"id": "3f9a1c", "reason": "too large"}, "/reject 3f9a1c too large"),
    ("status", {"symbol": None}, "/status"),
    ("repay", {"amount": "all", "asset": "USDT"}, "/repay USDT all"),  # registry order, not the order given
])
def test_options_become_the_typed_command_line(command: str, values: dict[str, Any], line: str) -> None:
    assert command_line(REGISTRY[command], values) == line
