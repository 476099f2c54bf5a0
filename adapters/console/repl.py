"""Console front end: reads commands, renders replies as text, prints alerts as they come.

Interactive with line editing (readline) when stdin is a terminal; otherwise one command per line,
each reply printed to stdout, exit at end of input. Buttons print as the commands that press them.
`/as NAME` switches the acting member (drills, scripted four-eyes checks).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import TextIO

from rich.console import Console
from rich.markup import escape

from chatbot.core import DeskCore
from chatbot.replies import Actor, Notice, Reply, Request, Severity
from chatbot.store.members import DeskMember

STYLES = {Severity.INFO: "bold", Severity.SUCCESS: "bold green", Severity.WARNING: "bold yellow",
          Severity.ERROR: "bold red", Severity.CRITICAL: "bold white on red"}


class ConsoleOutput:
    def __init__(self, stream: TextIO) -> None:
        self.console = Console(file=stream, soft_wrap=True, highlight=False)

    def reply(self, reply: Reply, prefix: str = "") -> None:
        first, *rest = reply.text().splitlines()
        self.console.print(f"[{STYLES[reply.severity]}]{escape(prefix + first)}[/]")
        for line in rest:
            self.console.print(escape(line))
        self.console.file.flush()


class ConsoleTransport:
    """The console as a notifier channel: every notice for anyone is printed (one shared terminal)."""

    platform = "console"

    def __init__(self, output: ConsoleOutput) -> None:
        self.output = output

    async def send_to_member(self, member: DeskMember, notice: Notice) -> bool:
        self.output.reply(notice.reply, prefix=f"» to {member.name} [{notice.kind}] ")
        return True

    async def send_to_channel(self, channel_id: str, notice: Notice, *, silent: bool, topic_id: int | None) -> None:
        self.output.reply(notice.reply, prefix=f"» #{channel_id} [{notice.kind}] ")


def default_member(core: DeskCore) -> str | None:
    members = core.desk.members
    admins = [m.name for m in members if m.role == "admin"]
    return admins[0] if admins else (members[0].name if members else None)


async def _read_line(stream: TextIO, interactive: bool, prompt: str) -> str | None:
    def read() -> str | None:
        if interactive:
            with contextlib.suppress(ImportError):  # line editing and history for input()
                import readline  # noqa: F401
            try:
                return input(prompt)
            except EOFError:
                return None
        line = stream.readline()
        return line if line else None

    return await asyncio.to_thread(read)


async def run_console(core: DeskCore, *, as_name: str | None = None, stdin: TextIO | None = None,
                      stdout: TextIO | None = None, interactive: bool | None = None) -> int:
    stdin = stdin or sys.stdin
    out = ConsoleOutput(stdout or sys.stdout)
    interactive = stdin.isatty() if interactive is None else interactive
    core.notifier.register(ConsoleTransport(out))
    name = as_name or default_member(core)
    if name is None or core.members.get(name) is None:
        out.reply(Reply(title=f"No desk member named {name!r}; add [[members]] to the desk TOML.",
                        severity=Severity.ERROR))
        return 2
    if interactive:
        out.reply(Reply(title=f"Desk console — acting as {name}. /help lists commands, Ctrl-D quits."))
    while True:
        line = await _read_line(stdin, interactive, f"{name}> ")
        if line is None:
            await core.notifier.drain()  # what was posted for others is printed before the console ends
            return 0
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.split()[0].lower() == "/as":
            parts = text.split()
            target = parts[1] if len(parts) == 2 else ""
            if core.members.get(target) is None:
                out.reply(Reply(title=f"No desk member named {target!r}.", lines=("Usage: /as NAME",),
                                severity=Severity.ERROR))
            else:
                name = target
                out.reply(Reply(title=f"Now acting as {name}."))
            continue
        request = Request(actor=Actor("console", name), text=text, chat_id="console")
        out.reply(await core.handle(request))
