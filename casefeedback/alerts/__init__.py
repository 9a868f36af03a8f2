"""Alerts: which answers need a person to act, and telling them in time."""
