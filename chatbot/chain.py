"""The one middleware chain every request walks: typed commands, typed answers and button presses alike.

redact → identify (deny unknown) → resolve the command (text, or a button's token) → authorize
(role from the registry) → rate-limit → freshness (edited, forwarded, stale: for anything that
acts) → dedup (the platform's event id) → parse & validate → platform/desk checks → the handler
bound in the registry → audit (every outcome, denials included) → the requester learns the
outcome (`told`).

No handler re-checks identity, authority or freshness by hand; a handler that needs more (the
requester of a prompt, four eyes) does it in the gate (`chatbot.flows.gate`). A database that is
down gives one clear answer and writes nothing; any other failure gives a short apology, is
logged with a redacted traceback, and never reaches the chat as a traceback.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import defaultdict, deque
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from chatbot.commands.parser import ParseError, parse, parse_named
from chatbot.commands.registry import HANDLERS, CommandSpec, lookup, read_token
from chatbot.exchange import ExchangeError, ExchangeUnavailable, RateLimited
from chatbot.redact import REDACTOR
from chatbot.replies import Reply, Request, Severity, error
from chatbot.services import Call, Services
from chatbot.store.db import database_unavailable, session_scope
from chatbot.store.members import DeskMember
from chatbot.store.tables import ProcessedEvent

log = logging.getLogger(__name__)

RECENT_EVENTS = 10_000
ALREADY_HANDLED = Reply(title="Already handled.", duplicate=True)
DATABASE_DOWN = error("The desk's database is unavailable right now; nothing was changed.",
                      "Try again in a minute. Admins: check the database server.")
OUR_FAULT = error("Something went wrong on our side; nothing was changed.", "Try again, or /status.")


class RateLimiter:
    """At most `per_minute` commands per member in any 60 s window (in memory, per process; requests
    run on several worker threads, hence the lock)."""

    def __init__(self) -> None:
        self.seen: dict[int, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, member_id: int, per_minute: int, now: float) -> bool:
        with self._lock:
            window = self.seen[member_id]
            while window and now - window[0] >= 60:
                window.popleft()
            if len(window) >= per_minute:
                return False
            window.append(now)
            return True


class Chain:
    def __init__(self, services: Services) -> None:
        self.svc = services
        self.limiter = RateLimiter()
        self._recent_events: dict[str, None] = {}
        self._recent_lock = threading.Lock()

    async def run(self, request: Request) -> Reply:
        request = _redacted(request)  # a secret typed in chat (or in a slash option) goes no further
        try:
            return await self._run(request)
        except RateLimited as exc:  # a read the exchange would not serve now; nothing was sent
            return error(f"The exchange is limiting the desk's requests; try again in {math.ceil(exc.retry_after)} s.",
                         "Nothing was changed.")
        except ExchangeError as exc:
            return error(f"The exchange refused: {exc.msg}", "Nothing was changed.")
        except ExchangeUnavailable:
            return error("The exchange did not answer; nothing was changed.", "Try again in a moment.")
        except Exception as exc:
            if database_unavailable(exc):
                log.error("database unavailable while handling %s: %s", request.actor, type(exc).__name__)
                return DATABASE_DOWN
            log.exception("command failed: %s", request.text[:80])
            self._audit_quietly(request, exc)
            return OUR_FAULT

    async def _run(self, request: Request) -> Reply:
        svc, actor = self.svc, str(request.actor)
        member = svc.members.identify(request.actor)
        if member is None:
            svc.audit.append(actor, "identify", "denied",
                             detail={"text": request.text[:120], "button": request.token is not None})
            return error("You are not a member of this desk.", "Ask a desk admin to add you.")
        spec, args, parsed_error = self._resolve(request)
        if spec is not None:
            refusal = self._gatekeep(spec, member, request)
            if refusal is not None:
                return refusal
        if request.event_id and not self._first_delivery(request.event_id, durable=bool(spec and spec.acts)):
            return ALREADY_HANDLED
        if parsed_error is not None or spec is None:
            assert parsed_error is not None
            svc.audit.append(actor, parsed_error.command or "parse", "invalid", member=member.name,
                             detail={"text": request.text[:120], "error": parsed_error.message})
            return error(parsed_error.message, parsed_error.hint or None)
        call = Call(spec, member, request, args, via_button=request.token is not None)
        reply = await self._dispatch(call)
        try:
            svc.audit.append(actor, spec.name, _outcome(reply), member=member.name,
                             detail={"args": {k: str(v) for k, v in args.items()}, "reply": reply.title[:120],
                                     "via": "button" if call.via_button else "text"})
            if reply.told is not None:  # the last write: the requester has the outcome in hand
                svc.pending.mark_told(reply.told, svc.clock())
        except Exception as exc:  # the handler's answer is the truth; never swap it for "nothing changed"
            if not database_unavailable(exc):
                raise
            log.error("could not audit /%s (database unavailable); its answer stands", spec.name)
        return reply

    def _resolve(self, request: Request) -> tuple[CommandSpec | None, dict[str, Any], ParseError | None]:
        """The command and its validated arguments, from a button's token or from the typed line."""
        if request.token is not None:
            found = read_token(request.token)
            if found is None:
                return None, {}, ParseError("This button is no longer valid.", "See /pending")
            spec, nonce = found
            return spec, {"nonce": nonce}, None
        if request.args is not None:
            head = request.text.strip().split(maxsplit=1)[0] if request.text.strip() else "/"
            parsed = parse_named(head[1:], request.args, self.svc.market)
        else:
            parsed = parse(request.text, self.svc.market)
        if isinstance(parsed, ParseError):
            head = request.text.strip().split(maxsplit=1)[0] if request.text.strip() else ""
            named = lookup(head[1:].split("@", 1)[0]) if head.startswith("/") and head.isascii() else None
            return named, {}, parsed
        return parsed.spec, dict(parsed.args), None

    def _gatekeep(self, spec: CommandSpec, member: DeskMember, request: Request) -> Reply | None:
        """Authority, rate, freshness: the same for a typed command, a typed answer and a button."""
        svc, actor = self.svc, str(request.actor)
        if not spec.allows(member.role):
            svc.audit.append(actor, spec.name, "denied", member=member.name,
                             detail={"role": member.role, "needs": spec.role})
            return error(f"/{spec.name} needs the {spec.role} role; you are a {member.role}.")
        policy = svc.policy()
        if not self.limiter.allow(member.id, policy.rate_limit_per_minute, time.monotonic()):
            svc.audit.append(actor, spec.name, "rate_limited", member=member.name)
            return error("Too many commands; wait a minute.")
        if spec.acts:
            why = _stale(request, svc.clock(), policy.stale_command_seconds)
            if why:
                svc.audit.append(actor, spec.name, "ignored", member=member.name, detail={"why": why})
                return error(why)
        return None

    def _first_delivery(self, event_id: str, durable: bool) -> bool:
        """False for an event already handled. Anything that acts is remembered in the database (a
        redelivery after a restart must not act twice); read-only commands in memory only."""
        with self._recent_lock:
            if event_id in self._recent_events:
                return False
            self._recent_events[event_id] = None
            if len(self._recent_events) > RECENT_EVENTS:
                self._recent_events.pop(next(iter(self._recent_events)))
        if not durable:
            return True
        try:
            with session_scope(self.svc.engine) as s:
                s.add(ProcessedEvent(event_id=event_id[:96], at=self.svc.clock()))
            return True
        except IntegrityError:
            return False

    async def _dispatch(self, call: Call) -> Reply:
        spec = call.spec
        if spec.console_only and call.request.actor.platform != "console":
            return error(f"/{spec.name} works on the console only.")
        if spec.paper_only and not self.svc.paper:
            return error(f"/{spec.name} is a paper-exchange drill; this desk trades live.")
        handler = HANDLERS.get(spec.name)
        if handler is None:  # console-only commands the console adapter answers itself (/as)
            return error(f"/{spec.name} is not available here.")
        return await handler(self.svc, call)

    def _audit_quietly(self, request: Request, exc: Exception) -> None:
        try:
            self.svc.audit.append(str(request.actor), "error", "exception",
                                  detail={"text": request.text[:200], "error": type(exc).__name__})
        except Exception:
            log.exception("could not audit a failed command")


def _redacted(request: Request) -> Request:
    args = None if request.args is None else {
        name: REDACTOR(value) if isinstance(value, str) else value for name, value in request.args.items()}
    return replace(request, text=REDACTOR(request.text), args=args)


def _stale(request: Request, now: datetime, stale_seconds: int) -> str | None:
    if request.edited:
        return "Edited messages never trigger actions; send the command again."
    if request.forwarded:
        return "Forwarded messages never trigger actions; send the command yourself."
    if request.queued_while_away:  # a Telegram press carries no time: being in the start-up backlog is its age
        return "Ignored a button pressed while the bot was away; press it again."
    if request.sent_at is not None:
        age = (now - request.sent_at).total_seconds()
        if age > stale_seconds and request.token is not None:
            return f"Ignored a button pressed {int(age)} s ago (while the bot was away); press it again."
        if age > stale_seconds:
            return f"Ignored a {int(age)} s old command (sent while the bot was away); send it again."
    return None


def _outcome(reply: Reply) -> str:
    return "refused" if reply.severity is Severity.ERROR else "ok"
