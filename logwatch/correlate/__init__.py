"""Correlation: events into SMTP sessions and message lifetimes, batch after batch.

The state that carries between batches (open sessions, rows of open message lifetimes,
recent parent/child links) is one mergeable value (`CorrelationState`), so that many
files in a row, cron runs that continue each other and parts parsed in parallel all
give the same messages.
"""
