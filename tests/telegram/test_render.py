"""Reply → HTML: escaping, tables, splitting at Telegram's limit, buttons. Checked with the fake's strict parser."""

from __future__ import annotations

import re

import pytest

from adapters.telegram.render import (
    MAX_MESSAGE,
    alert_text,
    keyboard,
    prompt_header,
    render,
    render_single,
    tg_len,
)
from chatbot.replies import Action, Reply, Severity, Table
from tests.fakes.telegram_wire import parse_html

NASTY = "<b>BTC & co</b> <script>"


def test_everything_from_the_core_is_escaped() -> None:
    reply = Reply(title=NASTY, fields=((NASTY, NASTY),), lines=(NASTY,),
                  table=Table(("Asset", "Note"), (("BTC", NASTY),)), mentions=("a<b",))
    (html,) = render(reply).parts
    plain = parse_html(html)  # raises if Telegram would refuse it
    assert plain.count(NASTY) == 5
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp; co" in html
    assert "@a&lt;b" in html


def test_table_is_aligned_inside_pre() -> None:
    table = Table(("Asset", "Free", "Borrowed"), (("BTC", "1.5", "0"), ("USDT", "20000", "100")))
    (html,) = render(Reply(title="Status", table=table)).parts
    block = re.search(r"<pre>(.*)</pre>", html, re.S)
    assert block is not None
    rows = block.group(1).split("\n")
    assert rows == ["Asset   Free  Borrowed", "BTC      1.5         0", "USDT   20000       100"]


def test_mentions_link_members_by_telegram_id() -> None:
    (html,) = render(Reply(title="Escalation", mentions=("alice", "zed")), mentions={"alice": 1001}).parts
    assert '<a href="tg://user?id=1001">alice</a>' in html and "@zed" in html


def test_long_reply_splits_on_line_boundaries_with_markers() -> None:
    lines = tuple(f"line {i:04d} <&> " + "x" * 40 for i in range(150))
    rows = tuple((f"R{i:04d}", "y" * 30) for i in range(150))  # narrow enough for a phone: a <pre> table
    reply = Reply(title="Big", lines=lines, table=Table(("Id", "Value"), rows),
                  actions=(Action("Refresh", "rf:1", "/status"),))
    rendered = render(reply)
    parts = rendered.parts
    assert len(parts) >= 3
    plains = [parse_html(p) for p in parts]  # each part is valid HTML on its own (<pre> closed and reopened)
    for i, (part, plain) in enumerate(zip(parts, plains, strict=True), 1):
        assert tg_len(plain) <= MAX_MESSAGE and tg_len(part) <= MAX_MESSAGE
        assert plain.startswith(f"[{i}/{len(parts)}]\n")
    body = [line for plain in plains for line in plain.split("\n")[1:]]
    assert body[0] == "ℹ️ Big"
    assert body[1:151] == list(lines)  # every line whole, in order, exactly once
    assert [line.split()[0] for line in body[152:]] == [r[0] for r in rows]
    assert rendered.keyboard is not None


def test_a_table_wider_than_a_phone_becomes_lines() -> None:
    narrow = Table(("Asset", "Held", "Owed", "Net"), (("USDT", "20,000.00", "0.00", "20,000.00"),))
    assert "<pre>Asset" in render(Reply(title="t", table=narrow)).parts[0]
    wide = Table(("Name", "Role", "Telegram", "Discord", "From"),
                 (("alice", "admin", "1001001001", "2001002002", "toml"),))
    (text,) = render(Reply(title="t", table=wide)).parts
    assert "<pre>" not in text
    assert "<b>alice:</b> Role admin · Telegram 1001001001 · Discord 2001002002 · From toml" in text
    assert all(len(line) <= 80 for line in text.split("\n"))


def test_a_single_overlong_line_is_cut_not_lost() -> None:
    reply = Reply(title="t", lines=("&" * 5000,))
    parts = render(reply).parts
    plains = [parse_html(p) for p in parts]
    assert all(tg_len(p) <= MAX_MESSAGE for p in parts)
    assert "".join(p.split("\n", 1)[1] for p in plains).count("&") == 5000


def test_buttons_carry_the_core_token_verbatim() -> None:
    token = "cf:" + "A" * 61  # 64 bytes: the limit
    markup = keyboard((Action("Confirm", token, "/confirm 1"), Action("Cancel", "cx:n", "/cancel 1")))
    assert markup is not None
    assert [b.callback_data for b in markup.inline_keyboard[0]] == [token, "cx:n"]


def test_oversized_token_is_dropped_not_truncated(caplog: pytest.LogCaptureFixture) -> None:
    markup = keyboard((Action("Confirm", "cf:" + "é" * 31, "/confirm 1"),))  # 65 bytes
    assert markup is None and "65 bytes" in caplog.text


def test_single_message_rendering_truncates_cleanly() -> None:
    text = render_single(Reply(title="Incident", lines=tuple("z" * 100 for _ in range(100))), header="Prompt")
    plain = parse_html(text)
    assert tg_len(plain) <= MAX_MESSAGE and plain.startswith("Prompt\n") and plain.endswith("… (truncated)")


def test_alert_text_is_short_and_headers_skip_markers() -> None:
    assert len(alert_text(Reply(title="x" * 500, severity=Severity.ERROR))) == 200
    assert alert_text(Reply(title="No.", lines=("Hint",))) == "No.\nHint"
    assert prompt_header("[2/2]\nrest") is None
    assert prompt_header("⚠️ Confirm borrow? [ab12cd]\nMargin level") == "⚠️ Confirm borrow? [ab12cd]"
