"""Desk commands: the registry (single source of truth), the parser and the handlers."""
