"""Prometheus metrics for follow mode (prometheus_client, on its own registry).

What an operator graphs and alerts on: lines read, events by type, lines no parser knew
(a new MTA version logging differently shows here first), alerts by rule, deliveries
waiting and failing, the lag between the newest line read and the clock, and how long a
pass takes and how many rows the rules hold (under a botnet both grow; a pass longer
than the interval falls behind).
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from logwatch.live import PassResult

__all__ = ["Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.lines = Counter("mail_logwatch_lines_read", "Log lines read", registry=r)
        self.events = Counter("mail_logwatch_events", "Events parsed, by event", ["event"],
                              registry=r)
        self.unknown = Counter("mail_logwatch_unknown_lines",
                               "Mail lines no parser pattern knew", registry=r)
        self.alerts = Counter("mail_logwatch_alerts", "Alerts raised, by rule and severity",
                              ["rule", "severity"], registry=r)
        self.pending = Gauge("mail_logwatch_outbox_pending",
                             "Alert deliveries waiting in the outbox", registry=r)
        self.lag = Gauge("mail_logwatch_lag_seconds",
                         "Clock minus the newest line read in the last pass that read one",
                         registry=r)
        self.passes = Counter("mail_logwatch_passes", "Passes over the sources", registry=r)
        self.pass_seconds = Gauge("mail_logwatch_pass_seconds",
                                  "How long the last pass took", registry=r)
        self.held = Gauge("mail_logwatch_held_rows",
                          "Events and messages the rules hold after the last pass",
                          registry=r)
        self._server: Any = None

    def observe(self, result: PassResult, seconds: float) -> None:
        self.passes.inc()
        self.pass_seconds.set(seconds)
        if not result.errors:
            self.held.set(result.held_rows)
        self.lines.inc(result.lines)
        for event, n in result.events.items():
            self.events.labels(event).inc(n)
        self.unknown.inc(result.unknown)
        for alert in result.alerts:
            self.alerts.labels(alert["rule"], alert["severity"]).inc()
        self.pending.set(result.pending)
        if result.newest_us is not None:
            self.lag.set(max(0.0, time.time() - result.newest_us / 1e6))

    def serve(self, address: str, port: int) -> int:
        """Serve /metrics; returns the port (0 picks a free one).

        Raises OSError (a `socket.gaierror` for a name that does not resolve) when it
        cannot listen there: the caller knows what the operator typed, and names it."""
        self._server, _ = start_http_server(port, addr=address, registry=self.registry)
        return int(self._server.server_address[1])

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
