"""Reply → Discord embeds: the only place that knows Discord's message limits and markdown.

Kept apart from the handlers so the limits are testable without a client. A reply becomes a head
embed (severity icon and title, colour by severity, its lines as the description, its fields as
embed fields) followed by the table as code blocks in further embeds of the same colour, so the
table reads below the fields. Text from the core is markdown-escaped (a member name or an
exchange message can contain `*` or `_`). Discord allows 4,096 characters in a description, 25
fields of ≤ 1,024, 10 embeds and 6,000 embed characters per message: anything bigger is split
into more embeds (a table repeats its header row in each) and then into more messages marked
`part 1/3` … in the footer. `render_single` fits a reply into exactly one message for edits in
place (prompt outcomes, incidents), cutting it with a note if it must. Mentions go in the content
(embeds never notify) with `allowed_mentions` limited to exactly the mentioned users.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import discord
from discord.utils import escape_markdown

from chatbot.replies import Action, Reply, Severity, Table

COLOURS = {Severity.INFO: 0x5865F2, Severity.SUCCESS: 0x57F287, Severity.WARNING: 0xFEE75C,
           Severity.ERROR: 0xED4245, Severity.CRITICAL: 0x992D22}
ICONS = {Severity.INFO: "ℹ️", Severity.SUCCESS: "✅", Severity.WARNING: "⚠️", Severity.ERROR: "⛔",
         Severity.CRITICAL: "🚨"}
MAX_TITLE, MAX_DESCRIPTION, MAX_FIELDS, MAX_FIELD_NAME, MAX_FIELD_VALUE = 256, 4096, 25, 256, 1024
MAX_EMBEDS, MAX_AUTHOR = 10, 256
MESSAGE_BUDGET = 6000 - 300  # embed characters per message, leaving room for a footer and an author line
HEAD_DESCRIPTION = 2048  # the head embed's share, so its fields fit beside it
TRUNCATED = "… (truncated)"
_ESCAPED = re.compile(r"\\([*_`~|>#\-\[\]()])")


@dataclass(frozen=True)
class Part:
    """One Discord message: its content (mentions only) and embeds."""

    embeds: tuple[discord.Embed, ...]
    content: str | None = None


@dataclass(frozen=True)
class Rendered:
    parts: tuple[Part, ...]  # buttons go on the last part
    actions: tuple[Action, ...]
    mention_ids: tuple[int, ...]

    @property
    def allowed_mentions(self) -> discord.AllowedMentions:
        return allowed_mentions(self.mention_ids)


def allowed_mentions(user_ids: Sequence[int]) -> discord.AllowedMentions:
    """Exactly these users may be notified: never @everyone, roles or the replied-to author."""
    if not user_ids:
        return discord.AllowedMentions.none()
    return discord.AllowedMentions(everyone=False, roles=False, replied_user=False,
                                   users=[discord.Object(i) for i in user_ids])


def embed_size(embed: discord.Embed) -> int:
    """Characters Discord counts toward the 6,000 per message."""
    return (len(embed.title or "") + len(embed.description or "") + len(embed.footer.text or "")
            + len(embed.author.name or "") + sum(len(f.name or "") + len(f.value or "") for f in embed.fields))


def table_rows(table: Table) -> list[str]:
    """Aligned rows (first column left, the others right), backticks replaced so code blocks hold."""
    rows = [tuple(cell.replace("`", "ˋ") for cell in row) for row in (table.headers, *table.rows)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(table.headers))]
    return ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                      for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]


def code_blocks(table: Table, budget: int = MAX_DESCRIPTION) -> list[str]:
    """The table as code blocks of at most `budget` characters, each starting with the header row."""
    header, *body = table_rows(table)
    room = budget - len("```\n\n```")
    header = header[: room // 2]
    chunks: list[list[str]] = [[header]]
    size = len(header)
    for row in body:
        row = row[: room - len(header) - 1]
        if size + 1 + len(row) > room and len(chunks[-1]) > 1:
            chunks.append([header])
            size = len(header)
        chunks[-1].append(row)
        size += 1 + len(row)
    return ["```\n" + "\n".join(chunk) + "\n```" for chunk in chunks]


def pack_text(lines: Sequence[str], budget: int) -> list[str]:
    """Escaped lines joined into descriptions of at most `budget` characters, never cutting a line
    unless that one line is longer than a description (then it is cut into pieces that fit)."""
    out: list[str] = []
    current = ""
    for raw in lines:
        for start in range(0, max(len(raw), 1), budget // 2):  # escaping at most doubles the length
            piece = escape_markdown(raw[start:start + budget // 2])
            candidate = f"{current}\n{piece}" if current else piece
            if current and len(candidate) > budget:
                out.append(current)
                candidate = piece
            current = candidate
    if current:
        out.append(current)
    return out


def _head(reply: Reply) -> tuple[discord.Embed, list[str]]:
    """The head embed, and the text that did not fit in it (long titles, big fields, many lines)."""
    colour = discord.Colour(COLOURS.get(reply.severity, COLOURS[Severity.INFO]))
    title = f"{ICONS.get(reply.severity, '')} {reply.title}".strip()
    extra: list[str] = []
    if len(title) > MAX_TITLE:
        extra.append(reply.title)
        title = title[: MAX_TITLE - 1] + "…"
    embed = discord.Embed(title=escape_markdown(title)[:MAX_TITLE], colour=colour)
    overflow: list[str] = []
    for name, value in reply.fields:
        name_text, value_text = escape_markdown(name) or "\u200b", escape_markdown(value) or "—"
        fits = len(name_text) <= MAX_FIELD_NAME and len(value_text) <= MAX_FIELD_VALUE
        if fits and len(embed.fields) < MAX_FIELDS and \
                embed_size(embed) + len(name_text) + len(value_text) <= MESSAGE_BUDGET - HEAD_DESCRIPTION:
            embed.add_field(name=name_text, value=value_text, inline=False)
        else:
            overflow.append(f"{name}: {value}")
    text = [*extra, *reply.lines]
    descriptions = pack_text(text, HEAD_DESCRIPTION)
    if descriptions:
        embed.description = descriptions[0]
    return embed, [*descriptions[1:], *pack_text(overflow, MAX_DESCRIPTION)]


def embeds_of(reply: Reply) -> list[discord.Embed]:
    """Every embed a reply needs, in reading order: head, overflow text, table blocks."""
    head, more_text = _head(reply)
    colour = head.colour
    embeds = [head, *(discord.Embed(description=text, colour=colour) for text in more_text)]
    if reply.table is not None and reply.table.headers:
        embeds += [discord.Embed(description=block, colour=colour) for block in code_blocks(reply.table)]
    return embeds


def mention_content(names: Sequence[str], ids: Mapping[str, int] | None) -> tuple[str | None, tuple[int, ...]]:
    """`<@id>` for members with a Discord id, `@name` (no notification) for the others."""
    if not names:
        return None, ()
    users = tuple(ids[n] for n in names if ids and ids.get(n))
    text = " ".join(f"<@{ids[n]}>" if ids and ids.get(n) else escape_markdown(f"@{n}") for n in names)
    return text[:2000], users


def render(reply: Reply, *, mentions: Mapping[str, int] | None = None) -> Rendered:
    """A reply as one or more messages (≤ 10 embeds, ≤ 6,000 embed characters each)."""
    messages: list[list[discord.Embed]] = [[]]
    size = 0
    for embed in embeds_of(reply):
        cost = embed_size(embed)
        if messages[-1] and (len(messages[-1]) >= MAX_EMBEDS or size + cost > MESSAGE_BUDGET):
            messages.append([])
            size = 0
        messages[-1].append(embed)
        size += cost
    if len(messages) > 1:
        for i, embeds in enumerate(messages, 1):
            embeds[-1].set_footer(text=f"part {i}/{len(messages)}")
    content, users = mention_content(reply.mentions, mentions)
    parts = tuple(Part(tuple(embeds), content if i == 0 else None) for i, embeds in enumerate(messages))
    return Rendered(parts, reply.actions, users)


def render_single(reply: Reply, *, mentions: Mapping[str, int] | None = None, header: str | None = None) -> Rendered:
    """Exactly one message (edits in place): the embeds that fit, then a note that the rest was cut.
    `header` (the prompt's own title) is kept above the outcome as the head embed's author line."""
    embeds = embeds_of(reply)
    if header:
        embeds[0].set_author(name=header[:MAX_AUTHOR])
    kept: list[discord.Embed] = []
    size = 0
    for embed in embeds:
        if len(kept) >= MAX_EMBEDS or size + embed_size(embed) > MESSAGE_BUDGET:
            kept[-1].set_footer(text=TRUNCATED)
            break
        kept.append(embed)
        size += embed_size(embed)
    content, users = mention_content(reply.mentions, mentions)
    return Rendered((Part(tuple(kept), content),), reply.actions, users)


def first_title(message: discord.Message | None) -> str | None:
    """The title of the prompt a button was on (kept above the outcome when it is edited)."""
    if message is None or not message.embeds:
        return None
    head = message.embeds[0]
    return _unescape(head.author.name or head.title or "") or None


def _unescape(text: str) -> str:
    """An embed title as sent is markdown-escaped; an author line shows text as it is."""
    return _ESCAPED.sub(r"\1", text)
