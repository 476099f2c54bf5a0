"""Confirmations and approvals: persisted state machines for leverage changes."""
