"""End to end through the real discord.py client connected to the fake Discord, with the real desk core."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from adapters.discord import DiscordBot
from chatbot.config import MemberConfig, PolicyConfig
from chatbot.core import DeskCore
from chatbot.redact import REDACTOR
from chatbot.replies import Actor, Request
from tests.chat_desk import MakeCore
from tests.core.desk import borrowed
from tests.discord.desk import ALICE, BOB, CAROL, DAVE, MALLORY, MEMBERS, MakeBot
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord_state import Interaction
from tests.fakes.discord_wire import DESK_CHANNEL, EPHEMERAL

SUCCESS, DANGER, SECONDARY = 3, 4, 2  # Discord button styles


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [b["custom_id"] for b in FakeDiscord.buttons(message)]


async def one_reply(fake: FakeDiscord, ix: Interaction, *, timeout: float = 5.0) -> dict[str, Any]:
    """The one message answering `ix`, as the user saw it then (a snapshot: later edits do not show)."""
    (reply,) = await fake.wait_replies(ix, timeout=timeout)
    return copy.deepcopy(reply)


def settled(ix: Interaction) -> bool:
    """The bot has shown the outcome of `ix` (an edit, or a private note)."""
    return any(c.route in ("followup", "edit_response") for c in ix.calls)


async def press(fake: FakeDiscord, user: int, message: dict[str, Any], custom_id: str) -> Interaction:
    """Press a button on `message` (as the presser's client shows it) and wait for the outcome."""
    ix = await fake.click(user, message, custom_id)
    await fake.wait_until(lambda: settled(ix))
    return ix


async def test_status_from_a_trader(fake: FakeDiscord, core: DeskCore, bot: DiscordBot) -> None:
    ix = await fake.slash(CAROL, "status")
    reply = await one_reply(fake, ix)
    assert not reply["flags"] & EPHEMERAL and reply["channel_id"] == DESK_CHANNEL
    (head, table) = reply["embeds"]
    assert head["title"] == "✅ Status — cross margin" and head["color"] == 0x57F287
    assert {"Margin level", "Assets · owed · net"} <= {f["name"] for f in head["fields"]}
    assert table["description"].startswith("```\nAsset") and "20,000.00" in table["description"]
    assert [c.route for c in ix.calls] == ["interaction_callback", "edit_response"]
    assert ix.calls[0].body["type"] == 5  # deferred before the core was asked
    assert [e.actor for e in core.audit.find("status")] == [f"discord:{CAROL}"]


async def test_unknown_user_is_denied_privately_and_nothing_else(fake: FakeDiscord, core: DeskCore,
                                                                 bot: DiscordBot) -> None:
    ix = await fake.slash(MALLORY, "status")
    reply = await one_reply(fake, ix)
    assert reply["flags"] & EPHEMERAL and "not a member of this desk" in fake.text_of(reply)
    assert not FakeDiscord.buttons(reply)
    assert ix.original_id in fake.deleted  # the thinking message is gone: nothing public remains
    assert [m for m in fake.channel_messages(DESK_CHANNEL) if not m["flags"] & EPHEMERAL] == []
    assert core.audit.find("status") == []  # the command never ran
    assert any(e.outcome == "denied" and e.actor == f"discord:{MALLORY}" for e in core.audit.find("identify"))


async def test_borrow_prompt_only_the_requester_can_confirm_and_it_runs_once(
        fake: FakeDiscord, desk_url: str, make_core: MakeCore, make_bot: MakeBot) -> None:
    core = await make_core(desk_url)
    await make_bot(core)
    prompt = await one_reply(fake, await fake.slash(CAROL, "borrow", {"asset": "USDT", "amount": "100"}))
    assert prompt["embeds"][0]["title"].startswith("⚠️ Confirm borrow 100 USDT (cross)?")
    confirm, cancel = FakeDiscord.buttons(prompt)
    assert (confirm["label"], confirm["style"], cancel["label"]) == ("Confirm", SUCCESS, "Cancel")
    assert confirm["custom_id"].startswith("dmb:cf:") and cancel["custom_id"].startswith("dmb:cx:")

    # Another member (an admin, even) presses Confirm: a private refusal, the prompt untouched.
    refused = await press(fake, BOB, prompt, confirm["custom_id"])
    (note,) = fake.replies(refused)
    assert note["flags"] & EPHEMERAL and "Not your prompt" in fake.text_of(note)
    assert fake.messages[prompt["id"]]["embeds"] == prompt["embeds"] and await borrowed(core) == 0
    assert fake.messages[prompt["id"]]["components"] == prompt["components"]

    # The requester presses it: executed once; the prompt shows the outcome and loses its buttons.
    done = await press(fake, CAROL, prompt, confirm["custom_id"])
    (edited,) = fake.replies(done)
    assert edited["id"] == prompt["id"] and edited["components"] == []
    assert edited["embeds"][0]["author"]["name"].startswith("⚠️ Confirm borrow 100 USDT (cross)?")
    assert edited["embeds"][0]["title"].startswith("✅ Done [")
    assert await borrowed(core) == Decimal(100)

    # A second press (a stale client still showing the button): nothing more happens.
    again = await press(fake, CAROL, prompt, confirm["custom_id"])
    (note,) = fake.replies(again)
    assert note["flags"] & EPHEMERAL and "already" in fake.text_of(note)
    assert await borrowed(core) == Decimal(100)
    assert fake.messages[prompt["id"]]["embeds"][0]["title"].startswith("✅ Done [")


async def test_two_presses_delivered_together_execute_once(fake: FakeDiscord, core: DeskCore,
                                                           bot: DiscordBot) -> None:
    prompt = await one_reply(fake, await fake.slash(CAROL, "borrow", {"asset": "USDT", "amount": "50"}))
    confirm = custom_ids(prompt)[0]
    first, second = await fake.click(CAROL, prompt, confirm), await fake.click(CAROL, prompt, confirm)
    await fake.wait_until(lambda: settled(first) and settled(second))
    kinds = sorted(bool(fake.replies(ix)[0]["flags"] & EPHEMERAL) for ix in (first, second))
    assert kinds == [False, True] and await borrowed(core) == Decimal(50)


async def test_a_press_older_than_the_stale_window_executes_nothing(fake: FakeDiscord, core: DeskCore,
                                                                   bot: DiscordBot) -> None:
    """A press delivered late (its id says when it was made) is refused like an old typed command, privately,
    and the prompt stays; a fresh press of the same button then executes."""
    prompt = await one_reply(fake, await fake.slash(CAROL, "borrow", {"asset": "USDT", "amount": "100"}))
    confirm = custom_ids(prompt)[0]
    made = time.time() - core.services.policy().stale_command_seconds - 30
    late = await fake.click(CAROL, prompt, confirm, created=made)
    await fake.wait_until(lambda: settled(late))
    (note,) = fake.replies(late)
    assert note["flags"] & EPHEMERAL and "press it again" in fake.text_of(note)
    assert await borrowed(core) == 0 and fake.messages[prompt["id"]]["components"] == prompt["components"]
    assert [e.outcome for e in core.audit.find("confirm")] == ["ignored"]
    done = await press(fake, CAROL, prompt, confirm)
    assert "Done [" in fake.text_of(fake.replies(done)[0]) and await borrowed(core) == Decimal(100)


async def test_cancel_button_edits_the_prompt(fake: FakeDiscord, core: DeskCore, bot: DiscordBot) -> None:
    prompt = await one_reply(fake, await fake.slash(CAROL, "borrow", {"asset": "USDT", "amount": "50"}))
    ix = await press(fake, CAROL, prompt, custom_ids(prompt)[1])
    (edited,) = fake.replies(ix)
    assert "Cancelled [" in fake.text_of(edited) and edited["components"] == [] and await borrowed(core) == 0


async def test_a_viewer_borrow_is_refused_without_buttons(fake: FakeDiscord, core: DeskCore, bot: DiscordBot) -> None:
    reply = await one_reply(fake, await fake.slash(DAVE, "borrow", {"asset": "USDT", "amount": "100"}))
    assert reply["flags"] & EPHEMERAL and not FakeDiscord.buttons(reply)
    assert "needs the trader role" in fake.text_of(reply)
    assert core.pending.open_actions() == [] and await borrowed(core) == 0


async def test_approval_goes_to_admins_by_dm_and_is_approved_there(fake: FakeDiscord, make_core: MakeCore,
                                                                   make_bot: MakeBot) -> None:
    core = await make_core(policy=PolicyConfig(approval_notional_usdt="10"))
    await make_bot(core)
    prompt = await one_reply(fake, await fake.slash(CAROL, "borrow", {"asset": "USDT", "amount": "100"}))
    assert "Needs admin approval" in fake.text_of(prompt)
    sent = await press(fake, CAROL, prompt, custom_ids(prompt)[0])
    assert "sent to the admins for approval" in fake.text_of(fake.replies(sent)[0])

    await fake.wait_until(lambda: all(fake.channel_messages(fake.dm_channels.get(str(u), "-")) for u in (ALICE, BOB)))
    dms = {user: fake.channel_messages(fake.dm_channels[str(user)]) for user in (ALICE, BOB)}
    assert set(fake.dm_channels) == {str(ALICE), str(BOB)}  # both admins; carol (the requester) is not asked
    (ask,) = dms[ALICE]
    assert ask["embeds"][0]["title"].startswith("⚠️ Approve borrow 100 USDT (cross)?")
    approve, reject = FakeDiscord.buttons(ask)
    assert (approve["label"], approve["style"], reject["label"], reject["style"]) == (
        "Approve", SUCCESS, "Reject", DANGER)
    assert await borrowed(core) == 0

    ix = await press(fake, ALICE, ask, approve["custom_id"])
    (outcome,) = fake.replies(ix)
    assert outcome["id"] == ask["id"] and outcome["components"] == [] and "Done [" in fake.text_of(outcome)
    assert await borrowed(core) == Decimal(100)
    told = await fake.wait_until(lambda: fake.channel_messages(fake.dm_channels.get(str(CAROL), "-")))
    assert "Approved by alice" in fake.text_of(told[0])

    # Bob's copy of the request is now stale: a private note, no second execution.
    (bobs,) = dms[BOB]
    late = await press(fake, BOB, bobs, custom_ids(bobs)[0])
    assert fake.replies(late)[0]["flags"] & EPHEMERAL and await borrowed(core) == Decimal(100)


async def test_a_button_still_works_after_a_restart_exactly_once(fake: FakeDiscord, desk_url: str,
                                                                 make_core: MakeCore) -> None:
    core = await make_core(desk_url)
    async with DiscordBot(core, fake.token, api_base_url=fake.api_base_url, gateway_url=fake.gateway_url):
        prompt = await one_reply(fake, await fake.slash(CAROL, "borrow", {"asset": "USDT", "amount": "100"}))
    await core.exchange.close()
    core.engine.dispose()

    # A new process: new core on the same database, new client. The old message's button is all there is.
    core = await make_core(desk_url)
    async with DiscordBot(core, fake.token, api_base_url=fake.api_base_url, gateway_url=fake.gateway_url):
        confirm = custom_ids(prompt)[0]
        ix = await press(fake, CAROL, prompt, confirm)
        (edited,) = fake.replies(ix)
        assert edited["id"] == prompt["id"] and "Done [" in fake.text_of(edited) and edited["components"] == []
        again = await press(fake, CAROL, prompt, confirm)  # a client still showing the old buttons
        assert fake.replies(again)[0]["flags"] & EPHEMERAL
    assert await borrowed(core) == Decimal(100)
    presses = [e.outcome for e in core.audit.find("confirm") if '"via":"button"' in e.detail_json]
    assert presses == ["ok", "refused"]


async def test_a_slow_exchange_is_still_acknowledged_within_three_seconds(fake: FakeDiscord, core: DeskCore,
                                                                          bot: DiscordBot) -> None:
    account, slow_calls = core.exchange.account, [0]

    async def slow_account(isolated_symbol: str | None = None) -> Any:
        if slow_calls[0] > 0:  # the next reads of the account take 2 s each
            slow_calls[0] -= 1
            await asyncio.sleep(2)
        return await account(isolated_symbol)

    core.exchange.account = slow_account  # type: ignore[method-assign]
    slow_calls[0] = 1
    start = time.monotonic()
    status = await fake.slash(CAROL, "status")
    reply = await one_reply(fake, status, timeout=10)
    assert status.first_response_at is not None and status.first_response_at - status.pushed_at < 3.0
    assert status.calls[0].ok and time.monotonic() - start >= 2.0 and "Status" in fake.text_of(reply)

    prompt = await one_reply(fake, await fake.slash(CAROL, "borrow", {"asset": "USDT", "amount": "100"}))
    slow_calls[0] = 2  # executing re-plans with fresh prices, then shows the account after: ≥ 4 s
    start = time.monotonic()
    ix = await fake.click(CAROL, prompt, custom_ids(prompt)[0])
    await fake.wait_until(lambda: fake.replies(ix), timeout=10)
    assert ix.first_response_at is not None and ix.first_response_at - ix.pushed_at < 3.0 and ix.calls[0].ok
    assert time.monotonic() - start >= 4.0
    assert "Done [" in fake.text_of(fake.replies(ix)[0]) and await borrowed(core) == Decimal(100)


async def test_options_reach_the_core_as_the_typed_line(fake: FakeDiscord, core: DeskCore, bot: DiscordBot) -> None:
    # A flag option adds its word: an isolated long (refused: that isolated account holds nothing) …
    await one_reply(fake, await fake.slash(CAROL, "long", {"symbol": "BTCUSDT", "qty": "0.01", "isolated": True}))
    # … and without it, a cross long.
    prompt = await one_reply(fake, await fake.slash(CAROL, "long", {"symbol": "BTCUSDT", "qty": "0.01",
                                                                    "isolated": False}))
    assert "(cross)" in prompt["embeds"][0]["title"]
    args = [json.loads(e.detail_json)["args"] for e in core.audit.find("long")]
    assert [a["isolated"] for a in args] == ["True", "False"]
    # An invalid amount gets exactly the core's answer to the typed command (one validation path).
    reply = await one_reply(fake, await fake.slash(CAROL, "borrow", {"asset": "USDT", "amount": "1e3"}))
    typed = await core.handle(Request(actor=Actor("discord", str(CAROL)), text="/borrow USDT 1e3"))
    assert reply["flags"] & EPHEMERAL and reply["embeds"][0]["title"] == f"⛔ {typed.title}"
    # DAYS is an integer option; an asset left out is simply not on the line.
    interest = await one_reply(fake, await fake.slash(CAROL, "interest", {"days": 7}))
    assert "7" in fake.text_of(interest)
    assert json.loads(core.audit.find("interest")[-1].detail_json)["args"] == {"days": "7"}


async def test_options_keep_their_names_optional_ones_and_spaces_included(fake: FakeDiscord, core: DeskCore,
                                                                           bot: DiscordBot) -> None:
    # Typed, "/reject too large" would read "too" as the request id; by name, the reason stays a reason.
    reply = await one_reply(fake, await fake.slash(ALICE, "reject", {"reason": "too large"}))
    assert "Nothing is waiting for approval" in fake.text_of(reply)
    halted = await one_reply(fake, await fake.slash(ALICE, "halt", {"reason": "flash crash on BTC"}))
    assert "HALTED by alice: flash crash on BTC" in fake.text_of(halted)
    assert core.halted()


async def test_a_command_registered_by_another_build_is_answered_by_the_core(fake: FakeDiscord, core: DeskCore,
                                                                             bot: DiscordBot) -> None:
    fake.commands[None].append({"id": "1", "name": "weather", "description": "gone", "type": 1, "options": []})
    reply = await one_reply(fake, await fake.slash(CAROL, "weather"))
    assert reply["flags"] & EPHEMERAL and "Unknown command /weather" in fake.text_of(reply)


async def test_slash_commands_work_in_a_dm_with_the_bot(fake: FakeDiscord, core: DeskCore, bot: DiscordBot) -> None:
    reply = await one_reply(fake, await fake.slash(DAVE, "help", dm=True))
    assert reply["channel_id"] == fake.dm_channels[str(DAVE)] and "Commands for dave (viewer)" in fake.text_of(reply)


async def test_a_long_reply_is_split_into_marked_messages(fake: FakeDiscord, make_core: MakeCore,
                                                          make_bot: MakeBot) -> None:
    many = [*MEMBERS, *(MemberConfig(name=f"trader{i:03d}", role="trader", discord_id=50_000 + i)
                        for i in range(300))]
    core = await make_core(members=many)
    await make_bot(core)
    ix = await fake.slash(ALICE, "members")
    await fake.wait_until(lambda: len(fake.replies(ix)) >= 2 and len(fake.replies(ix)) == int(
        fake.replies(ix)[0]["embeds"][-1]["footer"]["text"].split("/")[1]))
    parts = fake.replies(ix)
    total = len(parts)
    assert [p["embeds"][-1]["footer"]["text"] for p in parts] == [f"part {i}/{total}" for i in range(1, total + 1)]
    assert all(not p["flags"] & EPHEMERAL for p in parts)  # the fake refused anything over Discord's limits
    blocks = [e["description"] for p in parts for e in p["embeds"] if e.get("description", "").startswith("```")]
    assert all(b.split("\n")[1].startswith("Name") for b in blocks)  # every code block repeats the header
    names = [line.split()[0] for b in blocks for line in b.split("\n") if line.startswith("trader")]
    assert names == [f"trader{i:03d}" for i in range(300)]


async def test_a_secret_in_a_slash_option_is_neither_echoed_nor_stored(fake: FakeDiscord, core: DeskCore,
                                                                     bot: DiscordBot) -> None:
    secret = "SENTINELslashSECRET42"
    REDACTOR.add([secret])
    halted = await one_reply(fake, await fake.slash(ALICE, "halt", {"reason": f"key {secret} leaked"}))
    assert "HALTED by alice: key" in fake.text_of(halted) and secret not in fake.text_of(halted)
    with core.engine.connect() as conn:
        stored = [str(row) for table in ("desk_state", "audit_log")
                  for row in conn.execute(sa.text(f"SELECT * FROM {table}"))]
    assert stored and not any(secret in row for row in stored)
    assert not any(secret in json.dumps(m) for m in fake.messages.values())
