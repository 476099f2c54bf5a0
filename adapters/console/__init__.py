"""The console adapter: a REPL (or a script on stdin) acting as one desk member — the embedded default."""

from adapters.console.repl import ConsoleTransport, run_console

__all__ = ["ConsoleTransport", "run_console"]
