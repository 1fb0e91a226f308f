"""Alerts out of the process: rendered per medium, delivered through apprise, spooled in
the state's outbox until a notifier confirms them."""
