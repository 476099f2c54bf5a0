"""Leverage changes: borrow, repay, long, short, close. Each becomes a previewed prompt, never an execution."""

from __future__ import annotations

from chatbot.commands.registry import bind
from chatbot.flows.proposals import propose
from chatbot.replies import Reply
from chatbot.services import Call, Services


@bind("borrow")
@bind("repay")
@bind("long")
@bind("short")
@bind("close")
async def leverage_change(svc: Services, call: Call) -> Reply:
    return await propose(svc, call)
