"""The desk core: one middleware chain for every command from every platform.

identify (deny unknown) → authorize (role from the registry) → rate-limit → parse & validate →
plan (preview) → gate (confirmation, then four-eyes approval where policy says so) → execute
(through the Exchange port, intents recorded first) → audit (every outcome, denials included).

Adapters call `handle(Request)` and `press(token, actor)` and render the `Reply` they get back.
The core never imports a chat platform or an exchange wire format.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from chatbot.alerts.incidents import IncidentStore
from chatbot.alerts.monitor import MarginMonitor
from chatbot.alerts.summary import InterestSummarizer
from chatbot.commands import views
from chatbot.commands.parser import Market, ParsedCommand, ParseError, parse
from chatbot.commands.registry import CommandSpec, lookup
from chatbot.config import DeskConfig
from chatbot.exchange import DrillControls, Exchange, ExchangeError, ExchangeUnavailable
from chatbot.execution import Executor, NotSent
from chatbot.flows import pending as states
from chatbot.flows.pending import Pending, PendingStore, params_hash
from chatbot.money import fmt, fmt_amount
from chatbot.notify import Notifier, SubscriptionStore
from chatbot.plans import Plan, PlanError, plan_borrow, plan_close, plan_open, plan_repay
from chatbot.redact import REDACTOR
from chatbot.replies import Action, ActionStyle, Actor, Notice, Reply, Request, Severity, error
from chatbot.store.audit import AuditLog
from chatbot.store.db import session_scope
from chatbot.store.members import DeskMember, MemberStore
from chatbot.store.tables import DeskState, ProcessedEvent

log = logging.getLogger(__name__)

TOKEN_VERBS = {"cf": "confirm", "cx": "cancel", "ap": "approve", "rj": "reject", "ak": "ack"}
DUPLICATE_WINDOW = timedelta(seconds=10)
RECENT_EVENTS = 10_000
ALREADY_HANDLED = Reply(title="Already handled.", duplicate=True)
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RateLimiter:
    """At most `per_minute` commands per member in any 60 s window (in memory, per process)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str, now: float) -> bool:
        window = self.seen[key]
        while window and now - window[0] >= 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        return True


class DeskCore:
    def __init__(self, *, engine: Engine, exchange: Exchange, desk: DeskConfig,
                 clock: Clock = _utcnow) -> None:
        self.engine = engine
        self.exchange = exchange
        self.desk = desk
        self.policy = desk.policy
        self.clock = clock
        self.members = MemberStore(engine)
        self.pending = PendingStore(engine)
        self.audit = AuditLog(engine)
        self.executor = Executor(engine, exchange, self.audit)
        self.subscriptions = SubscriptionStore(engine, desk.channels)
        self.notifier = Notifier(self.members, self.subscriptions)
        self.limiter = RateLimiter(self.policy.rate_limit_per_minute)
        self.paper = isinstance(exchange, DrillControls)
        self.market = Market({})
        self._recent_events: dict[str, None] = {}
        self.incidents = IncidentStore(engine)
        self.monitor = MarginMonitor(exchange, self.incidents, self.notifier, self.members, desk.alerts)
        self.summarizer = InterestSummarizer(engine, exchange, self.notifier)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Sync members from the TOML, load the market, settle intents a previous run left open."""
        self.members.sync_from_config(self.desk.members)
        self.market = Market(await self.exchange.symbols())
        settled = await self.executor.reconcile_open()
        if settled:
            self.audit.append("system", "reconcile", "done", detail={str(k): v for k, v in settled.items()})
        self.exchange.subscribe(self.monitor.on_event)

    # ------------------------------------------------------------------ the chain

    async def handle(self, request: Request) -> Reply:
        try:
            return await self._handle(request)
        except Exception as exc:  # never a traceback in a chat
            log.exception("command failed: %s", REDACTOR(request.text[:80]))
            self.audit.append(str(request.actor), "error", "exception",
                              detail={"text": request.text[:200], "error": type(exc).__name__})
            return error("Something went wrong on our side; nothing was changed.", "Try again, or /status.")

    async def _handle(self, request: Request) -> Reply:
        actor = str(request.actor)
        member = self.members.identify(request.actor)
        if member is None:
            self.audit.append(actor, "identify", "denied", detail={"text": request.text[:120]})
            return error("You are not a member of this desk.", "Ask a desk admin to add you.")
        head = request.text.strip().split(maxsplit=1)[0] if request.text.strip() else ""
        spec = lookup(head[1:].split("@", 1)[0]) if head.startswith("/") and head.isascii() else None
        if spec is not None:
            if not spec.allows(member.role):
                self.audit.append(actor, spec.name, "denied", member=member.name,
                                  detail={"role": member.role, "needs": spec.role})
                return error(f"/{spec.name} needs the {spec.role} role; you are a {member.role}.")
            if not self.limiter.allow(member.name, time.monotonic()):
                self.audit.append(actor, spec.name, "rate_limited", member=member.name)
                return error("Too many commands; wait a minute.")
            if spec.mutating or spec.increases_risk:
                refusal = self._stale(request)
                if refusal:
                    self.audit.append(actor, spec.name, "ignored", member=member.name, detail={"why": refusal})
                    return error(refusal)
        if request.event_id and not self._first_delivery(request.event_id, durable=bool(spec and spec.mutating)):
            return ALREADY_HANDLED
        parsed = parse(request.text, self.market)
        if isinstance(parsed, ParseError):
            self.audit.append(actor, parsed.command or "parse", "invalid", member=member.name,
                              detail={"text": request.text[:120], "error": parsed.message})
            return error(parsed.message, parsed.hint or None)
        reply = await self._dispatch(parsed, member, request)
        self.audit.append(actor, parsed.name, _outcome(reply), member=member.name,
                          detail={"args": {k: str(v) for k, v in parsed.args.items()}, "reply": reply.title[:120]})
        return reply

    def _stale(self, request: Request) -> str | None:
        if request.edited:
            return "Edited messages never trigger actions; send the command again."
        if request.sent_at is not None:
            age = (self.clock() - request.sent_at).total_seconds()
            if age > self.policy.stale_command_seconds:
                return f"Ignored a {int(age)} s old command (sent while the bot was away); send it again."
        return None

    def _first_delivery(self, event_id: str, durable: bool = True) -> bool:
        """False for an event already handled. Mutating commands and presses are remembered in the
        database (a redelivery after a restart must not act twice); read-only ones in memory only."""
        if event_id in self._recent_events:
            return False
        self._recent_events[event_id] = None
        if len(self._recent_events) > RECENT_EVENTS:
            self._recent_events.pop(next(iter(self._recent_events)))
        if not durable:
            return True
        try:
            with session_scope(self.engine) as s:
                s.add(ProcessedEvent(event_id=event_id[:96], at=self.clock()))
            return True
        except IntegrityError:
            return False

    async def _dispatch(self, cmd: ParsedCommand, member: DeskMember, request: Request) -> Reply:
        spec, a = cmd.spec, cmd.args
        if spec.console_only and request.actor.platform != "console":
            return error(f"/{spec.name} works on the console only.")
        if spec.paper_only and not self.paper:
            return error(f"/{spec.name} is a paper-exchange drill; this desk trades live.")
        if spec.mutating:
            return await self._propose(spec, member, request, a)
        handler = getattr(self, f"_cmd_{spec.name}", None)
        if handler is None:
            return error(f"/{spec.name} is not available here.")
        return await handler(member, request, a)  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ read-only commands

    async def _cmd_status(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        symbol = a.get("symbol")
        snap = await self.exchange.account(symbol)
        rates = await self.exchange.daily_interest_rates(symbol)
        max_borrow = {asset: await self.exchange.max_borrowable(asset, symbol) for asset in sorted(rates)
                      if symbol is None or asset in _pair_assets(self.market, symbol)}
        return views.status_reply(snap, rates, max_borrow, await self.exchange.now())

    async def _cmd_interest(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        days = int(a.get("days", 1))
        now = await self.exchange.now()
        snap = await self.exchange.account(None)
        rates = await self.exchange.daily_interest_rates(None)
        history = await self.exchange.interest_history(asset=a.get("asset"), start=now - timedelta(days=days),
                                                       end=now)
        return views.interest_reply(snap, rates, history, a.get("asset"), days)

    async def _cmd_help(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        return views.help_reply(member, request.actor.platform, self.paper, a.get("command"))

    async def _cmd_members(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        return views.members_reply(self.members.all())

    async def _cmd_pending(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        self._expire_due()
        mine = None if member.role == "admin" else member.name
        return views.pending_reply(self.pending.open_actions(mine), self.clock())

    async def _cmd_as(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        return error("/as is handled by the console itself.")

    # ------------------------------------------------------------------ proposing a leverage change

    async def _plan(self, command: str, a: dict[str, Any]) -> Plan:
        account = _account_of(command, a)
        snap = await self.exchange.account(account)
        rates = await self.exchange.daily_interest_rates(account)
        if command == "borrow":
            plan = plan_borrow(snap, a["asset"], Decimal(a["amount"]), rates)
            limit = await self.exchange.max_borrowable(a["asset"], account)
            if Decimal(a["amount"]) > limit:
                raise PlanError(f"Max borrowable now is {fmt_amount(limit)} {a['asset']}.")
            return plan
        if command == "repay":
            amount = a["amount"] if a["amount"] == "all" else Decimal(a["amount"])
            return plan_repay(snap, a["asset"], amount, rates)
        info = self.market.symbols[a["symbol"]]
        fee = await self.exchange.trade_fee(info.symbol)
        if command in ("long", "short"):
            return plan_open(command, snap, info, Decimal(a["qty"]), fee, rates)
        return plan_close(snap, info, fee, rates)

    def _policy(self, spec: CommandSpec, member: DeskMember, plan: Plan) -> tuple[list[str], list[str]]:
        """(approval reasons, refusals) for a plan. Risk-reducing actions need no approval."""
        if not spec.increases_risk:
            return [], []
        p = self.policy
        refusals, reasons = [], []
        if plan.ml_after < p.min_margin_level:
            refusals.append(f"projected margin level {fmt(plan.ml_after, 4)} is below the desk minimum "
                            f"{p.min_margin_level}")
        if plan.notional > p.approval_notional_usdt:
            reasons.append(f"notional {fmt(plan.notional)} USDT is above {fmt(p.approval_notional_usdt)}")
        if plan.ml_after < p.approval_margin_level:
            reasons.append(f"projected margin level {fmt(plan.ml_after, 4)} is below {p.approval_margin_level}")
        limit = member.max_leverage or p.default_max_leverage
        if plan.leverage_after > limit:
            reasons.append(f"leverage {fmt(plan.leverage_after)}x is above {member.name}'s limit {limit}x")
        return reasons, refusals

    async def _propose(self, spec: CommandSpec, member: DeskMember, request: Request,
                       a: dict[str, Any]) -> Reply:
        if spec.increases_risk and self.halted():
            return error("The desk is halted: leverage-increasing actions are blocked.",
                         "Repay and close still work. An admin can /resume.")
        try:
            plan = await self._plan(spec.name, a)
        except PlanError as exc:
            return error(str(exc), f"Usage: {spec.usage}")
        except ExchangeError as exc:
            return error(f"The exchange refused: {exc.msg} ({exc.code}).")
        reasons, refusals = self._policy(spec, member, plan)
        if refusals:
            return error(f"Refused: {refusals[0]}.", f"Try a smaller amount. Usage: {spec.usage}")
        params = {k: v if isinstance(v, bool) else str(v) for k, v in a.items()}
        now = self.clock()
        duplicate = self.pending.find_duplicate(member.name, params_hash(spec.name, params), now - DUPLICATE_WINDOW)
        if duplicate is not None:
            return self._prompt(duplicate, plan, reasons, repeated=True)
        p = self.pending.create(
            requester=member.name, command=spec.name, params=params, preview=plan.preview(),
            needs_approval=bool(reasons), reasons=reasons, now=now,
            ttl=timedelta(seconds=self.policy.confirm_ttl_seconds),
            origin_platform=request.actor.platform, origin_chat=request.chat_id,
        )
        return self._prompt(p, plan, reasons)  # audited with the command (its reply names the prompt)

    def _prompt(self, p: Pending, plan: Plan, reasons: list[str], repeated: bool = False) -> Reply:
        lines = [f"Needs admin approval: {'; '.join(reasons)}."] if reasons else []
        lines.append(f"Confirm within {self.policy.confirm_ttl_seconds} s.")
        if repeated:
            lines.insert(0, "Same request as a moment ago: this is its prompt.")
        return Reply(
            title=f"Confirm {views.describe(p)}? [{p.short_id}]",
            fields=views.plan_fields(plan), lines=tuple(lines), severity=Severity.WARNING, ref=p.short_id,
            actions=(Action("Confirm", f"cf:{p.nonce}", f"/confirm {p.short_id}", ActionStyle.PRIMARY),
                     Action("Cancel", f"cx:{p.nonce}", f"/cancel {p.short_id}", ActionStyle.SECONDARY)),
        )

    # ------------------------------------------------------------------ answering prompts

    async def press(self, token: str, actor: Actor, event_id: str | None = None) -> Reply:
        """A button press. The token names the verb and the pending action's nonce."""
        try:
            verb, _, nonce = token.partition(":")
            member = self.members.identify(actor)
            if member is None:
                self.audit.append(str(actor), "press", "denied", detail={"verb": verb})
                return error("You are not a member of this desk.")
            if verb not in TOKEN_VERBS or not nonce:
                return error("This button is no longer valid.")
            if event_id and not self._first_delivery(event_id):
                return ALREADY_HANDLED
            if verb == "ak":
                return await self._ack(member, actor, nonce)
            p = self.pending.by_nonce(nonce)
            if p is None:
                return error("This button is no longer valid.")
            reply = await self._answer(TOKEN_VERBS[verb], p, member, actor, None)
            self.audit.append(str(actor), f"press.{TOKEN_VERBS[verb]}", _outcome(reply), member=member.name,
                              detail={"pending": p.short_id, "reply": reply.title[:120]})
            return reply
        except Exception as exc:
            log.exception("button press failed")
            self.audit.append(str(actor), "error", "exception", detail={"error": type(exc).__name__})
            return error("Something went wrong on our side; nothing was changed.")

    async def _find(self, verb: str, member: DeskMember, ident: str | None) -> Pending | None:
        if ident:
            return self.pending.by_short_id(ident)
        if verb in ("confirm", "cancel"):
            return self.pending.newest_for(member.name, states.AWAITING_CONFIRMATION)
        return self.pending.oldest_awaiting_approval(exclude_requester=member.name)

    async def _cmd_confirm(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        return await self._answer_cmd("confirm", member, request, a)

    async def _cmd_cancel(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        return await self._answer_cmd("cancel", member, request, a)

    async def _cmd_approve(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        return await self._answer_cmd("approve", member, request, a)

    async def _cmd_reject(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        return await self._answer_cmd("reject", member, request, a)

    async def _answer_cmd(self, verb: str, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        p = await self._find(verb, member, a.get("id"))
        if p is None:
            what = "to confirm" if verb in ("confirm", "cancel") else "waiting for approval"
            return error(f"Nothing {what}" + (f" with id {a['id']}." if a.get("id") else "."), "See /pending")
        return await self._answer(verb, p, member, request.actor, a.get("reason"))

    async def _answer(self, verb: str, p: Pending, member: DeskMember, actor: Actor, reason: str | None) -> Reply:
        now = self.clock()
        if verb in ("confirm", "cancel"):
            if p.requester != member.name:
                self.audit.append(str(actor), verb, "denied", member=member.name,
                                  detail={"pending": p.short_id, "why": "not the requester"})
                return error("Not your prompt: only the member who asked can answer it.")
            expected = states.AWAITING_CONFIRMATION
        else:
            if member.role != "admin":
                self.audit.append(str(actor), verb, "denied", member=member.name, detail={"pending": p.short_id})
                return error("Only an admin can approve or reject.")
            if p.requester == member.name:
                self.audit.append(str(actor), verb, "denied", member=member.name,
                                  detail={"pending": p.short_id, "why": "four eyes"})
                return error("Four eyes: another admin must approve your own request.")
            expected = states.AWAITING_APPROVAL
        if p.state != expected:
            return error(f"[{p.short_id}] is already {p.state.replace('_', ' ')}.")
        if now >= p.expires_at:
            self.pending.transition(p.id, expected, states.EXPIRED, now=now)
            return error(f"[{p.short_id}] expired; nothing was done.", "Send the command again.")
        if verb == "cancel":
            if not self.pending.transition(p.id, expected, states.CANCELLED, now=now):
                return error(f"[{p.short_id}] was already answered.")
            return Reply(title=f"Cancelled [{p.short_id}] {views.describe(p)}. Nothing was done.")
        if verb == "reject":
            if not self.pending.transition(p.id, expected, states.REJECTED, now=now, approver=member.name,
                                           note=reason or ""):
                return error(f"[{p.short_id}] was already answered.")
            reply = Reply(title=f"Rejected [{p.short_id}] {views.describe(p)} by {member.name}.",
                          lines=(f"Reason: {reason}",) if reason else (), severity=Severity.WARNING, ref=p.short_id)
            await self.notifier.publish(Notice("approvals", reply, to_members=(p.requester,), to_channels=False))
            return reply
        if verb == "confirm" and p.needs_approval:
            expires = now + timedelta(seconds=self.policy.approval_ttl_seconds)
            if not self.pending.transition(p.id, expected, states.AWAITING_APPROVAL, now=now, expires_at=expires):
                return error(f"[{p.short_id}] was already answered.")
            await self._ask_admins(p)
            return Reply(title=f"[{p.short_id}] sent to the admins for approval.",
                         lines=(f"Why: {p.approval_reasons}.", "You will be told the outcome."), ref=p.short_id)
        if not self.pending.transition(p.id, expected, states.EXECUTING, now=now,
                                       approver=member.name if verb == "approve" else None):
            return error(f"[{p.short_id}] was already answered.")
        reply = await self._execute(p, actor)
        if verb == "approve":
            await self.notifier.publish(Notice("approvals", Reply(
                title=f"Approved by {member.name}: {reply.title}", lines=reply.lines, fields=reply.fields,
                severity=reply.severity, ref=p.short_id), to_members=(p.requester,), to_channels=False))
        return reply

    async def _ask_admins(self, p: Pending) -> None:
        admins = tuple(m.name for m in self.members.admins() if m.name != p.requester)
        preview = p.preview
        fields = [("Requested by", p.requester),
                  ("Margin level", f"{views.fmt_level(Decimal(preview['ml_before']))} → "
                                   f"{views.fmt_level(Decimal(preview['ml_after']))}")] if preview else \
            [("Requested by", p.requester)]
        reply = Reply(
            title=f"Approve {views.describe(p)}? [{p.short_id}]", fields=tuple(fields),
            lines=(f"Why: {p.approval_reasons}.",) if p.approval_reasons else (),
            severity=Severity.WARNING, ref=p.short_id,
            actions=(Action("Approve", f"ap:{p.nonce}", f"/approve {p.short_id}", ActionStyle.PRIMARY),
                     Action("Reject", f"rj:{p.nonce}", f"/reject {p.short_id}", ActionStyle.DANGER)),
        )
        await self.notifier.publish(Notice("approvals", reply, to_members=admins, key=f"approval:{p.short_id}"))

    # ------------------------------------------------------------------ execution

    async def _execute(self, p: Pending, actor: Actor) -> Reply:
        now = self.clock()
        try:
            if p.command == "resume":
                self._set_halt(False, reason="", by=p.approver or "")
                reply = Reply(title="Trading resumed: the kill switch is off.", severity=Severity.SUCCESS)
                await self.notifier.publish(Notice("system", reply))
                self.pending.transition(p.id, states.EXECUTING, states.DONE, now=now)
                return reply
            spec = lookup(p.command)
            assert spec is not None
            if spec.increases_risk and self.halted():
                raise PlanError("The desk was halted meanwhile; nothing was done.")
            plan = await self._plan(p.command, p.params)  # fresh prices
            _, refusals = self._policy(spec, self._requester(p), plan)
            if refusals:
                raise PlanError(f"The preview no longer holds: {refusals[0]}; nothing was done.")
            iso = _account_of(p.command, p.params)
            who = str(actor)
            if plan.borrow:
                await self.executor.borrow(plan.borrow[0], plan.borrow[1], iso, pending_id=p.id, actor=who)
            if plan.repay and plan.order is None:
                await self.executor.repay(plan.repay[0], plan.repay[1], iso, pending_id=p.id, actor=who)
            if plan.order:
                await self.executor.order(plan.order, iso is not None, pending_id=p.id, actor=who)
        except PlanError as exc:
            self.pending.transition(p.id, states.EXECUTING, states.FAILED, now=now, note=str(exc))
            return error(f"[{p.short_id}] not executed: {exc}")
        except ExchangeError as exc:
            self.pending.transition(p.id, states.EXECUTING, states.FAILED, now=now, note=exc.msg)
            return error(f"[{p.short_id}] refused by the exchange: {exc.msg} ({exc.code}). Nothing changed.")
        except NotSent:
            self.pending.transition(p.id, states.EXECUTING, states.FAILED, now=now, note="not sent")
            return error(f"[{p.short_id}] did not reach the exchange; nothing was done.", "Send the command again.")
        except ExchangeUnavailable:
            self.pending.transition(p.id, states.EXECUTING, states.FAILED, now=now, note="outcome unknown")
            return error(f"[{p.short_id}] outcome unknown: the exchange did not answer. It is being "
                         "reconciled; check /status before retrying.")
        self.pending.transition(p.id, states.EXECUTING, states.DONE, now=now)
        snap = await self.exchange.account(_account_of(p.command, p.params))
        return Reply(title=f"Done [{p.short_id}]: {views.describe(p)}.", severity=Severity.SUCCESS, ref=p.short_id,
                     fields=(("Margin level now", f"{views.fmt_level(snap.margin_level)} — {snap.band.value}"),))

    def _requester(self, p: Pending) -> DeskMember:
        m = self.members.get(p.requester)
        return m or DeskMember(p.requester, "trader", None, None, "gone", None)

    def _expire_due(self) -> None:
        now = self.clock()
        for p in self.pending.open_actions():
            if now >= p.expires_at:
                self.pending.transition(p.id, p.state, states.EXPIRED, now=now)

    # ------------------------------------------------------------------ kill switch

    def halted(self) -> bool:
        with session_scope(self.engine) as s:
            row = s.get(DeskState, "halt")
            return bool(row and json.loads(row.value_json).get("halted"))

    def _set_halt(self, halted: bool, *, reason: str, by: str) -> None:
        value = json.dumps({"halted": halted, "reason": reason, "by": by, "at": self.clock().isoformat()})
        with session_scope(self.engine) as s:
            row = s.get(DeskState, "halt") or DeskState(key="halt", value_json=value)
            row.value_json, row.updated_at = value, self.clock()
            s.add(row)

    async def _cmd_halt(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        reason = a.get("reason") or "no reason given"
        self._set_halt(True, reason=reason, by=member.name)
        reply = Reply(title=f"HALTED by {member.name}: {reason}", severity=Severity.CRITICAL,
                      lines=("Borrow, long and short are blocked on every platform. Repay and close still work.",
                             "Another admin must approve /resume."))
        await self.notifier.publish(Notice("system", reply))
        return reply

    async def _cmd_resume(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        if not self.halted():
            return Reply(title="The desk is not halted.")
        p = self.pending.create(requester=member.name, command="resume", params={}, preview={},
                                needs_approval=True, reasons=["lifting the kill switch needs a second admin"],
                                now=self.clock(), ttl=timedelta(seconds=self.policy.approval_ttl_seconds),
                                state=states.AWAITING_APPROVAL, origin_platform=request.actor.platform)
        await self._ask_admins(p)
        return Reply(title=f"[{p.short_id}] resume requested: another admin must approve.", ref=p.short_id)

    # ------------------------------------------------------------------ membership

    async def _cmd_grant(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        name, role, ident = a["name"], a["role"], a.get("id")
        tg = dc = None
        if ident:
            platform, _, number = ident.partition(":")
            if platform not in ("telegram", "discord") or not number.isdigit():
                return error("ID must look like telegram:12345 or discord:12345.",
                             "e.g. /grant bob trader telegram:1234")
            tg, dc = (int(number), None) if platform == "telegram" else (None, int(number))
        existing = self.members.get(name)
        if existing and existing.source == "toml":
            return error(f"{name} is defined in the desk TOML; change the role there.")
        if existing is None and tg is None and dc is None:
            return error(f"{name} is new: give their platform id.", "e.g. /grant bob trader telegram:1234")
        try:
            granted = self.members.grant(name, role, tg, dc)
        except IntegrityError:
            return error("That platform id already belongs to another member.")
        return Reply(title=f"{granted.name} is now a {granted.role}.", severity=Severity.SUCCESS)

    async def _cmd_revoke(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        target = self.members.get(a["name"])
        if target is None:
            return error(f"No member named {a['name']}.", "See /members")
        if target.source == "toml":
            return error(f"{target.name} is defined in the desk TOML; remove them there.")
        self.members.revoke(target.name)
        return Reply(title=f"{target.name} is no longer on the desk.", severity=Severity.SUCCESS)

    # ------------------------------------------------------------------ alerts

    async def _ack(self, member: DeskMember, actor: Actor, ident: str) -> Reply:
        if member.role not in ("trader", "admin"):
            return error("Only traders and admins can acknowledge incidents.")
        incident = self.monitor.acknowledge(ident, member.name)
        if incident is None:
            return error("No open incident to acknowledge.")
        self.audit.append(str(actor), "ack", "ok", member=member.name, detail={"incident": incident.id})
        return Reply(title=f"Incident #{incident.id} ({incident.account}) acknowledged by "
                           f"{incident.acknowledged_by}.", severity=Severity.SUCCESS, ref=f"incident:{incident.id}")

    async def _cmd_ack(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        return await self._ack(member, request.actor, a.get("id", ""))

    async def _cmd_subscribe(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        return self._subscription(request, a["kind"], a.get("mode", "on"))

    async def _cmd_unsubscribe(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        return self._subscription(request, a["kind"], "off")

    def _subscription(self, request: Request, kind: str, mode: str) -> Reply:
        channel = request.chat_id or request.actor.platform
        self.subscriptions.set(request.actor.platform, channel, kind, mode)
        return Reply(title=f"This channel's {kind} alerts: {mode}.", severity=Severity.SUCCESS)

    # ------------------------------------------------------------------ paper drills

    async def _cmd_price(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        assert isinstance(self.exchange, DrillControls)
        await self.exchange.set_price(a["symbol"], a["price"])
        return Reply(title=f"Paper price {a['symbol']} = {fmt(a['price'])}.")

    async def _cmd_clock(self, member: DeskMember, request: Request, a: dict[str, Any]) -> Reply:
        assert isinstance(self.exchange, DrillControls)
        now = await self.exchange.advance(int(a["duration"]))
        return Reply(title=f"Paper clock is now {now:%Y-%m-%d %H:%M} UTC.")


def _account_of(command: str, a: dict[str, Any]) -> str | None:
    """The isolated symbol a command acts on, or None for the cross account."""
    if command in ("borrow", "repay"):
        return a.get("symbol")
    return a.get("symbol") if a.get("isolated") is True else None


def _pair_assets(market: Market, symbol: str) -> set[str]:
    info = market.symbols.get(symbol)
    return {info.base, info.quote} if info else set()


def _outcome(reply: Reply) -> str:
    return "refused" if reply.severity is Severity.ERROR else "ok"
