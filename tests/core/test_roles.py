"""Role × command matrix, generated from the registry: every command declares a role, and the core
allows exactly the roles at or above it."""

from __future__ import annotations

import pytest

from chatbot.commands.registry import REGISTRY
from chatbot.config import ROLE_RANK
from tests.core.desk import open_desk

MEMBER_OF_ROLE = {"viewer": "dave", "trader": "carol", "admin": "alice"}


def test_every_command_declares_a_known_role() -> None:
    for spec in REGISTRY.values():
        assert spec.role in ROLE_RANK, f"/{spec.name} has no valid role"
        assert spec.summary and spec.example.startswith(f"/{spec.name}"), spec.name


@pytest.mark.parametrize("role", list(MEMBER_OF_ROLE))
async def test_role_matrix(sqlite_url: str, role: str) -> None:
    desk = await open_desk(sqlite_url)
    try:
        for spec in REGISTRY.values():
            if spec.console_only:
                continue
            text = spec.example.split("  or  ")[0]
            reply = await desk.say(MEMBER_OF_ROLE[role], text)
            denied = f"needs the {spec.role} role" in reply.title
            assert denied == (ROLE_RANK[role] < ROLE_RANK[spec.role]), (role, text, reply.title)
    finally:
        await desk.close()


def test_every_command_has_exactly_one_handler_bound_in_the_registry() -> None:
    import chatbot.commands.handlers  # noqa: F401  (binding happens at import)
    from chatbot.commands.registry import HANDLERS

    adapter_only = {name for name, spec in REGISTRY.items() if spec.console_only}  # /as: the console's own
    assert set(HANDLERS) == set(REGISTRY) - adapter_only
