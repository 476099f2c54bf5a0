"""Alerts: the margin monitor (incidents, not messages) and the daily interest summary."""
