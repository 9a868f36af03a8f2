"""Alerts: which answers need a person to act, and (issue 5) telling them in time."""
