"""How much the Discord adapter (and the core behind it) adds to a `/status` round trip.

Everything runs against the local fake Discord (tests/fakes/discord.py) in one event loop: the fake
pushes a `/status` INTERACTION_CREATE over the gateway and the clock stops when the answer the user
would see reaches the fake. Three bots, same run, a fresh fake each:
  bare     a bare discord.py client whose /status answers `send_message("ok")`: one callback, the floor
  adapter  our DiscordBot with a canned core (a fixed /status reply): the adapter's own cost, which
           includes acknowledging first (a thinking defer) and then editing the answer in: two requests
  desk     our DiscordBot with the real DeskCore (SQLite, paper exchange): what a user sees
  core     DeskCore.handle("/status") called directly, no Discord: the core's share of `desk`
Two times per run: the first interaction callback (for the bare bot its answer; for ours the
thinking defer, which Discord shows at once) and the answer itself.

    .venv/bin/python -m benchmarks.discord_bench [--runs 200]
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord import DiscordBot
from benchmarks.common import CannedCore, core_alone, desk_core, in_fresh_fakes, median_p99_ms, round_trip_args
from chatbot.replies import Actor
from tests.discord.desk import CAROL, open_core
from tests.fakes.discord import FakeDiscord

Samples = tuple[list[float], list[float]]  # (first response: thinking or answer, answer), seconds


async def round_trips(fake: FakeDiscord, runs: int, warmup: int) -> Samples:
    """Per run, from pushing /status: when the first interaction callback reached the fake (the user
    sees "thinking…" or the answer), and when the answer did."""
    first: list[float] = []
    answer: list[float] = []
    for i in range(warmup + runs):
        ix = await fake.slash(CAROL, "status")
        await fake.wait_replies(ix)
        done = time.monotonic()
        if i >= warmup:
            assert ix.first_response_at is not None
            first.append(ix.first_response_at - ix.pushed_at)
            answer.append(done - ix.pushed_at)
    return first, answer


async def bare_bot(fake: FakeDiscord, runs: int, warmup: int) -> Samples:
    client = discord.Client(intents=discord.Intents(guilds=True))
    tree = app_commands.CommandTree(client)

    @tree.command(name="status", description="Margin status")
    async def status(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok")

    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = fake.api_base_url, yarl.URL(fake.gateway_url)  # type: ignore[misc]
    try:
        await client.login(fake.token)
        await tree.sync()
        runner = asyncio.create_task(client.connect())
        await fake.wait_connected()
        try:
            return await round_trips(fake, runs, warmup)
        finally:
            await client.close()
            await runner
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved  # type: ignore[misc]


async def ours(fake: FakeDiscord, core: Any, runs: int, warmup: int) -> Samples:
    async with DiscordBot(core, fake.token, api_base_url=fake.api_base_url, gateway_url=fake.gateway_url):
        return await round_trips(fake, runs, warmup)


async def core_only(core: Any, runs: int, warmup: int) -> Samples:
    samples = await core_alone(core, Actor("discord", str(CAROL)), "1", runs, warmup)
    return samples, samples


def summary(name: str, samples: Samples, floor: Samples | None) -> str:
    out = f"{name:<8}"
    for label, values, base in (("first", samples[0], floor[0] if floor else None),
                                ("answer", samples[1], floor[1] if floor else None)):
        median, p99 = median_p99_ms(values)
        ratio = f" {median / (statistics.median(base) * 1000):4.2f}x" if base else "      "
        out += f"   {label} median {median:6.2f} ms p99 {p99:6.2f} ms{ratio}"
    return out


async def main(runs: int, warmup: int) -> None:
    async with desk_core(open_core) as core:
        results = await in_fresh_fakes(FakeDiscord, [
            ("bare", lambda f: bare_bot(f, runs, warmup)),
            ("adapter", lambda f: ours(f, CannedCore(), runs, warmup)),
            ("desk", lambda f: ours(f, core, runs, warmup)),
        ])
        results["core"] = await core_only(core, runs, warmup)
    print(f"/status through the fake Discord, {runs} runs after {warmup} warm-up; from the gateway push to the "
          "first callback (first) and to the answer (answer) reaching the fake; ratios to bare")
    for name, samples in results.items():
        print(summary(name, samples, None if name in ("bare", "core") else results["bare"]))


if __name__ == "__main__":
    asyncio.run(main(*round_trip_args(__doc__)))
