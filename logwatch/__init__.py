"""mail-logwatch: Postfix, Exim and Sendmail logs as one Arrow table, rules over it, alerts.

The flow (DESIGN.md): sources -> parse -> correlate -> enrich -> rules -> notify, with
report, trace and export reading events and messages. Each stage hands the next an Arrow
table; only `sources` reads files.
"""

__version__ = "0.1.0"
