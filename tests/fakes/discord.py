"""A fake Discord (REST API + gateway websocket) on 127.0.0.1:0, so the real discord.py 2.7 client runs offline.

dpytest cannot drive slash commands or components (shared/reference/offline-testing.md §2), so this
is ours: one aiohttp app serving `/api/v10/...` and `/gw`. It is put together from parts of one
concern each:
- tests/fakes/discord_rest.py: the REST routes and the refusals Discord answers with;
- tests/fakes/discord_gateway.py: the gateway session and the events tests push (`slash`, `click` …);
- tests/fakes/discord_state.py: what was recorded (`Call`, `Interaction`, messages) and the waits;
- tests/fakes/discord_wire.py: Discord's wire shapes and limits.
Tests wait with `wait_until` / `wait_for` / `wait_replies`, woken by the server as calls complete;
nothing sleep-polls.
"""

from __future__ import annotations

from aiohttp import web

from tests.fakes.discord_gateway import DiscordGateway
from tests.fakes.discord_rest import DiscordRest
from tests.fakes.discord_wire import DEFAULT_TOKEN


class FakeDiscord(DiscordRest, DiscordGateway):
    """`async with FakeDiscord() as fake:` then point discord.py at `fake.api_base_url` / `fake.gateway_url`."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        super().__init__(token)

    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/gw", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        await super().close()
