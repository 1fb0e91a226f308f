"""The site's facts compiled for lookups: which domains are ours, which clients trusted.

Every judgement here is made once per distinct value (a day's log has a million rows but
a few thousand client addresses and domains): callers dictionary-encode a column, ask
about its dictionary, and take the answers back to the rows. The answers are also
remembered (`_ANSWERS` of them per question), because a follower asks about the same
senders and domains again each second: facts equal to the last ones built are those
same facts, with what they remember.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from logwatch.config import Allowlist, Network, Site

__all__ = ["SiteFacts", "normalize_sender", "domain_of", "client_net"]

#: distinct values remembered per question: bounded, as the values are the log's
_ANSWERS = 65536
_remembered = lru_cache(maxsize=_ANSWERS)
T = TypeVar("T")


def _answer_once(question: Callable[[Any, Any], T]) -> Callable[[Any, Any], T]:
    """A SiteFacts question remembered per value in the facts' own `answers`."""
    @functools.wraps(question)
    def asked(self: SiteFacts, value: Any) -> T:
        memo = self.answers.setdefault(question.__name__, {})
        try:
            return memo[value]
        except KeyError:
            if len(memo) >= _ANSWERS:
                memo.clear()
            memo[value] = answer = question(self, value)
            return answer
    return asked

# SRS0=hash=tt=orig-domain=orig-local@forwarder; SRS1=hash=forwarder==hash=tt=domain=local@...
_SRS = re.compile(r"^srs[01][=+-](?:.*==)?[^=]+=[^=]+=(?P<domain>[^=]+)=(?P<local>.+)@[^@]+$",
                  re.I)
# BATV: prvs=tag=local@domain (and the older local=tag form is left alone)
_PRVS = re.compile(r"^(?:prvs|btv1)=[^=]+=(?P<local>.+)@(?P<domain>[^@]+)$", re.I)
# VERP and sub-addresses: list-bounces+user=example.org@lists.example -> list-bounces@...
_VERP = re.compile(r"^(?P<local>[^+@]+)\+[^@]*@(?P<domain>[^@]+)$")


@_remembered
def normalize_sender(sender: str) -> str:
    """The address a sender stands for: SRS, BATV and VERP decoded, lower-cased.

    A mailing list's `list-bounces+bob=example.com@lists.example` is one sender, not one
    per recipient; a forwarder's SRS address is the original sender's.
    """
    s = sender.strip().lower()
    for rx in (_SRS, _PRVS, _VERP):
        m = rx.match(s)
        if m:
            s = f"{m.group('local')}@{m.group('domain')}"
    return s


@_remembered
def domain_of(address: str | None) -> str | None:
    """The domain of an address, lower-cased, without a trailing dot (None: no domain)."""
    if not address or "@" not in address:
        return None
    d = address.rsplit("@", 1)[1].strip().strip("[]").rstrip(".").lower()
    return d or None


@_remembered
def client_net(ip: str | None) -> str | None:
    """The network a client stands for: the IPv4 address, or its IPv6 /64 (one host
    gets a whole /64 and can rotate through it)."""
    if not ip:
        return None
    addr = _address(ip)
    if addr is None:
        return None
    if addr.version == 6:
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


def _net(network: str) -> Network:
    """A configured network; an IPv4-mapped one (`::ffff:192.0.2.0/120`, as in Postfix's
    mynetworks) as the IPv4 network it maps, since addresses are compared unmapped."""
    net = ipaddress.ip_network(network, strict=False)
    mapped = net.network_address.ipv4_mapped if net.version == 6 else None
    if mapped is not None and net.prefixlen >= 96:
        return ipaddress.ip_network(f"{mapped}/{net.prefixlen - 96}")
    return net


def _in_domains(domain: str | None, domains: tuple[str, ...]) -> bool:
    return bool(domain) and any(domain == d or domain.endswith("." + d) for d in domains)


@dataclass(frozen=True)
class SiteFacts:
    """Site and allowlist, ready to answer per value; `inferred` says the local domains
    came from the input, not from the config."""

    local: tuple[str, ...]
    relay: tuple[str, ...]
    trusted: tuple[Network, ...]
    known_senders: tuple[str, ...]
    allow_nets: tuple[Network, ...]
    allow_users: frozenset[str]
    allow_senders: tuple[str, ...]
    inferred: bool = False
    #: per question, the answers given so far (see `_answer_once`)
    answers: dict[str, dict[Any, Any]] = field(default_factory=dict, compare=False,
                                               repr=False)

    @classmethod
    def from_config(cls, site: Site, allow: Allowlist,
                    inferred_local: list[str] | None = None) -> SiteFacts:
        # inferred ones in a fixed order: they come most frequent first, and facts that
        # only differ in that order are the same facts (see `_the_same`)
        local = tuple(site.local_domains or sorted(set(inferred_local or ())))
        known = tuple(s.lower() for s in site.known_senders) or tuple(
            p for d in local for p in (f"*@{d}", f"*@*.{d}"))
        return _the_same(cls(local=local, relay=tuple(site.relay_domains),
                             trusted=tuple(_net(n) for n in site.trusted_networks),
                             known_senders=known,
                             allow_nets=tuple(_net(n) for n in allow.networks),
                             allow_users=frozenset(u.lower() for u in allow.users),
                             allow_senders=tuple(s.lower() for s in allow.senders),
                             inferred=not site.local_domains and bool(inferred_local)))

    @_answer_once
    def is_local(self, domain: str | None) -> bool:
        return _in_domains(domain, self.local)

    def is_relay(self, domain: str | None) -> bool:
        return _in_domains(domain, self.relay)

    @_answer_once
    def is_external(self, domain: str | None) -> bool:
        """A domain that is neither ours nor one we relay for (None: not known)."""
        return bool(domain) and not self.is_local(domain) and not self.is_relay(domain)

    @_answer_once
    def is_trusted(self, ip: str | None) -> bool:
        return _ip_in(ip, self.trusted)

    def spares_network(self, network: str) -> bool:
        """Whether a network touches a trusted or allowlisted one: acting on it (a ban)
        would reach clients the site never acts on."""
        net = _net(network)
        return any(net.version == n.version and net.overlaps(n)
                   for n in (*self.trusted, *self.allow_nets))

    @_answer_once
    def is_known_sender(self, normalized: str) -> bool:
        """The null sender (bounces) is the MTA's own: known."""
        return normalized == "" or any(fnmatch.fnmatchcase(normalized, p)
                                       for p in self.known_senders)

    @_answer_once
    def allows_ip(self, ip: str | None) -> bool:
        return _ip_in(ip, self.allow_nets)

    def allows_user(self, user: str | None) -> bool:
        return bool(user) and user.lower() in self.allow_users

    @_answer_once
    def allows_sender(self, normalized: str | None) -> bool:
        return bool(normalized) and any(fnmatch.fnmatchcase(normalized, p)
                                        for p in self.allow_senders)


_last: list[SiteFacts] = []


def _the_same(facts: SiteFacts) -> SiteFacts:
    """The facts last built when these equal them: they remember their answers."""
    if _last and _last[0] == facts:
        return _last[0]
    _last[:] = [facts]
    return facts


@_remembered
def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return addr.ipv4_mapped if addr.version == 6 and addr.ipv4_mapped else addr


def _ip_in(ip: str | None, nets: tuple[Network, ...]) -> bool:
    if not ip or not nets:
        return False
    addr = _address(ip)
    return addr is not None and any(addr.version == n.version and addr in n for n in nets)
