"""Reply → embeds within Discord's limits (checked by the fake's own rules), buttons from actions."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import discord
import pytest

from adapters.discord.buttons import PREFIX, TEMPLATE, view_for
from adapters.discord.render import (
    COLOURS,
    MAX_FIELDS,
    TRUNCATED,
    embed_size,
    first_title,
    mention_content,
    render,
    render_single,
)
from chatbot.replies import Action, ActionStyle, Reply, Severity, Table
from tests.fakes.discord_wire import check_message


def valid(part_embeds: tuple[discord.Embed, ...], content: str | None = None) -> None:
    """Raises (as Discord would answer 50035) if the message breaks a limit."""
    check_message({"content": content or "", "embeds": [e.to_dict() for e in part_embeds]}, creating=True)


def all_text(reply_parts: tuple[tuple[discord.Embed, ...], ...]) -> str:
    out = []
    for embeds in reply_parts:
        for e in embeds:
            out += [e.title or "", e.description or "", *(f"{f.name}: {f.value}" for f in e.fields)]
    return "\n".join(out)


@pytest.mark.parametrize("severity", list(Severity))
def test_colour_and_icon_follow_severity(severity: Severity) -> None:
    (part,) = render(Reply(title="Hello", severity=severity)).parts
    assert part.embeds[0].colour == discord.Colour(COLOURS[severity]) and part.embeds[0].title.endswith(" Hello")


def test_text_from_the_core_is_markdown_escaped() -> None:
    (part,) = render(Reply(title="a_b *c*", fields=(("who", "**bold**"),), lines=("> not a quote",))).parts
    head = part.embeds[0]
    assert "\\*c\\*" in head.title and head.fields[0].value == "\\*\\*bold\\*\\*"
    assert head.description.startswith("\\>")


def test_a_big_table_is_split_into_code_blocks_and_messages() -> None:
    rows = tuple((f"member{i:04d}", "trader", "-", str(10**17 + i), "toml") for i in range(800))
    reply = Reply(title="Desk members (800)", table=Table(("Name", "Role", "Telegram", "Discord", "From"), rows))
    rendered = render(reply)
    assert len(rendered.parts) >= 2
    for i, part in enumerate(rendered.parts, 1):
        valid(part.embeds)
        assert part.embeds[-1].footer.text == f"part {i}/{len(rendered.parts)}"
    blocks = [e.description for p in rendered.parts for e in p.embeds if (e.description or "").startswith("```")]
    assert all(b.split("\n")[1].startswith("Name") and b.endswith("```") for b in blocks)
    names = [line.split()[0] for b in blocks for line in b.split("\n") if line.startswith("member")]
    assert names == [f"member{i:04d}" for i in range(800)]


def test_fields_beyond_discords_limits_move_to_the_text_and_nothing_is_lost() -> None:
    fields = (*((f"k{i}", f"value {i}") for i in range(40)), ("long", "x" * 3000))
    rendered = render(Reply(title="Many fields", fields=fields))
    for part in rendered.parts:
        valid(part.embeds)
    head = rendered.parts[0].embeds[0]
    assert len(head.fields) == MAX_FIELDS and head.fields[0].name == "k0"
    text = all_text(tuple(p.embeds for p in rendered.parts))
    assert all(f"k{i}: value {i}" in text for i in range(40)) and text.count("x") >= 3000


def test_a_long_title_and_a_huge_line_are_cut_to_fit() -> None:
    rendered = render(Reply(title="T" * 400, lines=("y" * 10_000,)))
    for part in rendered.parts:
        valid(part.embeds)
    head = rendered.parts[0].embeds[0]
    assert len(head.title) == 256 and head.title.endswith("…")
    text = all_text(tuple(p.embeds for p in rendered.parts))
    assert "T" * 400 in text and text.count("y") == 10_000


def test_render_single_fits_one_message_and_says_it_was_cut() -> None:
    rows = tuple((f"r{i}", "1") for i in range(3000))
    (part,) = render_single(Reply(title="Done", table=Table(("Row", "N"), rows)), header="⚠️ Confirm x?").parts
    valid(part.embeds)
    assert part.embeds[0].author.name == "⚠️ Confirm x?" and part.embeds[-1].footer.text == TRUNCATED
    assert sum(embed_size(e) for e in part.embeds) <= 6000
    (small,) = render_single(Reply(title="Done")).parts
    assert small.embeds[0].footer.text is None


def test_the_prompt_title_survives_as_the_header_of_the_outcome() -> None:
    (part,) = render(Reply(title="Confirm borrow 1 BTC_X? [ab12cd]", severity=Severity.WARNING)).parts
    message = SimpleNamespace(embeds=list(part.embeds))  # what discord.py parsed from the pressed message
    assert part.embeds[0].title == "⚠️ Confirm borrow 1 BTC\\_X? [ab12cd]"
    assert first_title(message) == "⚠️ Confirm borrow 1 BTC_X? [ab12cd]"  # type: ignore[arg-type]


def test_mentions_are_limited_to_members_with_a_discord_id() -> None:
    content, users = mention_content(("alice", "erin", "bob"), {"alice": 11, "bob": 22})
    assert content == "<@11> @erin <@22>" and users == (11, 22)
    rendered = render(Reply(title="ESCALATED", mentions=("alice", "erin")), mentions={"alice": 11})
    allowed = rendered.allowed_mentions.to_dict()
    assert allowed["parse"] == [] and allowed["users"] == [11] and rendered.parts[0].content == "<@11> @erin"
    assert render(Reply(title="plain")).allowed_mentions.to_dict() == {"parse": []}


def test_buttons_carry_only_the_token(caplog: pytest.LogCaptureFixture) -> None:
    actions = (Action("Confirm", "cf:abc", "/confirm 1", ActionStyle.PRIMARY),
               Action("Cancel", "cx:abc", "/cancel 1", ActionStyle.DANGER),
               Action("Later", "zz:abc", "/pending"),
               Action("Too long", "cf:" + "x" * 62, "/confirm 1"))
    with caplog.at_level(logging.ERROR):
        view = view_for(actions)
    assert view is not None
    buttons = [c.to_component_dict() for c in view.children]
    assert [(b["custom_id"], b["style"]) for b in buttons] == [
        (f"{PREFIX}cf:abc", 3), (f"{PREFIX}cx:abc", 4), (f"{PREFIX}zz:abc", 2)]
    assert "Too long" in caplog.text  # a token over 64 bytes is a core bug: dropped, and said so
    assert TEMPLATE.fullmatch(f"{PREFIX}{'a' * 64}") and not TEMPLATE.fullmatch(f"{PREFIX}{'a' * 65}")
    assert view_for(()) is None


def test_table_cells_cannot_break_the_code_block() -> None:
    (part,) = render(Reply(title="t", table=Table(("A", "B"), (("x```y", "1"),)))).parts
    assert part.embeds[1].description.count("```") == 2
