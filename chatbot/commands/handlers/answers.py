"""Answers to prompts — confirm, cancel, approve, reject — typed or pressed; the gate does the rest."""

from __future__ import annotations

from chatbot.commands.registry import bind
from chatbot.flows.gate import answer
from chatbot.replies import Reply
from chatbot.services import Call, Services


@bind("confirm")
@bind("cancel")
@bind("approve")
@bind("reject")
async def answer_prompt(svc: Services, call: Call) -> Reply:
    return await answer(svc, call)
