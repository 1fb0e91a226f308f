"""Actions besides messages: a configured command per alert (ban the address, add it to
an nftables set), because fail2ban users will not give up blocking.

The command is an argv list, run without a shell. Placeholders (`{client_ip}`) take the
alert key's values, each validated for its kind before it is passed (an address must
parse as an address, a username must be a plain name), so log text chosen by an attacker
never reaches a command line as anything else; an argument that fails validation stops
the action, which is recorded. Clients in trusted_networks or the allowlist are never
acted on, whatever the rule.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from logwatch.config import ActionConfig
from logwatch.sitefacts import SiteFacts

__all__ = ["ALERT_VALUES", "Outcome", "plan_action", "run_action", "PLACEHOLDERS"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+=-]{0,254}")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                     r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})")
_HEX = re.compile(r"[0-9a-f]{1,64}")


def _unscoped(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """Python (3.9+) parses `fe80::1%<anything>` as an address with a scope id, and
    prints the text after `%` back: shell text in a log line would pass as an address.
    A scope names an interface of this host, so a client address holding one is at best
    link-local and never one to ban: refused, whatever the scope says."""
    if getattr(addr, "scope_id", None) is not None:
        raise ValueError("an address with a scope id (%...) is no client address")


def _ip(v: str) -> str:
    addr = ipaddress.ip_address(v)
    _unscoped(addr)
    return str(addr)


def _net(v: str) -> str:
    net = ipaddress.ip_network(v, strict=False)
    _unscoped(net.network_address)
    return str(net)


def _matching(rx: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(v: str) -> str:
        if not rx.fullmatch(v):
            raise ValueError(f"not a plain {what}")
        return v
    return check


#: What each placeholder may hold, and how it is checked.
PLACEHOLDERS: dict[str, Callable[[str], str]] = {
    "client_ip": _ip, "client_net": _net, "relay_ip": _ip,
    "sasl_username": _matching(_NAME, "username"), "account": _matching(_NAME, "account"),
    "sender_domain": _matching(_DOMAIN, "domain"),
    "recipient_domain": _matching(_DOMAIN, "domain"),
    "rule": _matching(_NAME, "rule id"), "alert_id": _matching(_HEX, "alert id"),
    "severity": _matching(_NAME, "severity"),
}


#: Placeholders every alert fills, whatever its rule's key.
ALERT_VALUES = frozenset({"rule", "alert_id", "severity"})


@dataclass
class Outcome:
    action: str
    argv: list[str] | None
    returncode: int | None
    output: str
    refused: str | None = None


def _values(alert: dict[str, Any]) -> dict[str, str | None]:
    out: dict[str, str | None] = {k: (None if v is None else str(v))
                                  for k, v in alert["key"].items()}
    out.update(rule=alert["rule"], alert_id=alert["id"], severity=alert["severity"])
    return out


def plan_action(name: str, action: ActionConfig, alert: dict[str, Any],
                facts: SiteFacts) -> Outcome:
    """The command line for `alert`, or why there is none (the outcome says so)."""
    values = _values(alert)
    for key in ("client_ip", "relay_ip"):
        ip = values.get(key)
        if ip and (facts.is_trusted(ip) or facts.allows_ip(ip)):
            return Outcome(name, None, None, "", f"{ip} is trusted or allowlisted")
    net = values.get("client_net")
    if net:
        try:
            spared = facts.spares_network(net)
        except ValueError:
            spared = False          # not a network: the placeholder check refuses it
        if spared:
            return Outcome(name, None, None, "",
                           f"{net} holds trusted or allowlisted addresses")
    argv = []
    for arg in action.command:
        checked = {}
        for f in ActionConfig.fields_of(arg):
            value = values.get(f)
            if value is None:
                return Outcome(name, None, None, "", f"the alert has no {f}")
            try:
                checked[f] = PLACEHOLDERS[f](value)
            except ValueError as exc:
                return Outcome(name, None, None, "", f"{f} refused: {exc}")
        argv.append(arg.format_map(checked))
    return Outcome(name, argv, None, "")


def run_action(planned: Outcome, timeout: float) -> Outcome:
    """Run a planned command (no shell); the outcome keeps its exit code and output."""
    if planned.argv is None:
        return planned
    try:
        done = subprocess.run(planned.argv, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Outcome(planned.action, planned.argv, None, "", f"could not run: {exc}")
    output = (done.stdout + done.stderr).decode("utf-8", "replace")[-2000:]
    return Outcome(planned.action, planned.argv, done.returncode, output)
