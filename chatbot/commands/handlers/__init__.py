"""The command handlers, one module per family; importing this package binds them all to the registry.

Each handler is `async def handler(svc: Services, call: Call) -> Reply`, bound with
`@bind("name")` (`chatbot.commands.registry`). By the time a handler runs, the chain has identified
the member, checked their role, the rate limit, freshness and dedup, and parsed the arguments.
"""

from chatbot.commands.handlers import answers, desk, drills, read, trade, trader

__all__ = ["answers", "desk", "drills", "read", "trade", "trader"]
