"""The site's facts compiled for lookups: which domains are ours, which clients trusted.

A day's log has a million rows but a few hundred thousand distinct senders and a few
thousand client addresses: callers ask about a column's distinct values (`per_value` in
enrich) and take the answers back to the rows. Questions about addresses and domains
are asked of a whole array at once, as RE2 patterns and string kernels: asked in Python
one value at a time, they cost seconds on a busy server's day. Questions about client
addresses need `ipaddress`; they are few, and what they parse to is remembered
(`_ANSWERS` of them), because a follower asks about the same clients again each second.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from logwatch.config import Allowlist, Network, Site
from logwatch.globs import glob_regex

__all__ = ["SiteFacts", "normalized_senders", "domains_of", "client_net"]

#: distinct values remembered per question: bounded, as the values are the log's
_ANSWERS = 65536
_remembered = functools.lru_cache(maxsize=_ANSWERS)

#: (RE2 pattern, rewrite) in the order applied, each on what the one before left:
#: SRS0=hash=tt=orig-domain=orig-local@forwarder, SRS1=hash=forwarder==hash=tt=domain=
#: local@...; BATV prvs=tag=local@domain (the older local=tag form is left alone); VERP
#: and sub-addresses, list-bounces+user=example.org@lists.example -> list-bounces@...
_SENDER_REWRITES = (
    (r"(?i)^srs[01][=+-](?:.*==)?[^=]+=[^=]+=([^=]+)=(.+)@[^@]+$", r"\2@\1"),
    (r"(?i)^(?:prvs|btv1)=[^=]+=(.+)@([^@]+)$", r"\1@\2"),
    (r"^([^+@]+)\+[^@]*@([^@]+)$", r"\1@\2"),
)


def normalized_senders(senders: pa.Array) -> pa.Array:
    """The address each sender stands for: SRS, BATV and VERP decoded, trimmed and
    lower-cased (null stays null).

    A mailing list's `list-bounces+bob=example.com@lists.example` is one sender, not one
    per recipient; a forwarder's SRS address is the original sender's.
    """
    out = pc.utf8_lower(pc.utf8_trim_whitespace(senders))
    for pattern, rewrite in _SENDER_REWRITES:
        out = pc.replace_substring_regex(out, pattern, rewrite)
    return out


def domains_of(addresses: pa.Array) -> pa.Array:
    """The domain of each address, lower-cased, without brackets or a trailing dot
    (null: no `@`, or nothing after it)."""
    domain = pc.replace_substring_regex(addresses, r"(?s)^.*@", "")
    domain = pc.utf8_lower(pc.utf8_rtrim(pc.utf8_trim(pc.utf8_trim_whitespace(domain), "[]"),
                                         "."))
    found = pc.and_(pc.match_substring(addresses, "@"), pc.not_equal(domain, ""))
    return pc.if_else(found, domain, pa.scalar(None, pa.string()))


@_remembered
def client_net(ip: str | None) -> str | None:
    """The network a client stands for: the IPv4 address, or its IPv6 /64 (one host
    gets a whole /64 and can rotate through it)."""
    return _net_of(_address(ip)) if ip else None


def _net_of(addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> str | None:
    if addr is None:
        return None
    if addr.version == 6:      # from the number: parsing `addr/64` as text costs twice
        return f"{ipaddress.IPv6Address(int(addr) >> 64 << 64)}/64"
    return str(addr)


def _net(network: str) -> Network:
    """A configured network; an IPv4-mapped one (`::ffff:192.0.2.0/120`, as in Postfix's
    mynetworks) as the IPv4 network it maps, since addresses are compared unmapped."""
    net = ipaddress.ip_network(network, strict=False)
    mapped = net.network_address.ipv4_mapped if net.version == 6 else None
    if mapped is not None and net.prefixlen >= 96:
        return ipaddress.ip_network(f"{mapped}/{net.prefixlen - 96}")
    return net


def _domains_regex(domains: tuple[str, ...]) -> str | None:
    """RE2 for a domain or any subdomain of `domains` (None: no domains)."""
    if not domains:
        return None
    return r"(?s)^(?:.*\.)?(?:" + "|".join(re.escape(d) for d in domains) + r")\z"


def _lowered(values: Iterable[str]) -> tuple[str, ...]:
    """Config values lowered as the log's values are (Arrow's utf8_lower, which differs
    from str.lower on a few letters such as İ and final sigma)."""
    return tuple(pc.utf8_lower(pa.array(list(values), pa.string())).to_pylist())


def _matches(values: pa.Array, regex: str | None) -> pa.Array:
    """Whether each value matches (null stays null); none do without a regex."""
    if regex is None:
        return pc.if_else(pc.is_valid(values), False, pa.scalar(None, pa.bool_()))
    return pc.match_substring_regex(values, regex)


@dataclass(frozen=True)
class SiteFacts:
    """Site and allowlist, ready to answer; `inferred` says the local domains came from
    the input, not from the config. Questions about domains and senders take an array
    (null in, null out); those about one client address, a string. `known_senders` are
    the configured patterns (none: any address in the local domains)."""

    local: tuple[str, ...]
    relay: tuple[str, ...]
    trusted: tuple[Network, ...]
    known_senders: tuple[str, ...]
    allow_nets: tuple[Network, ...]
    allow_users: frozenset[str]
    allow_senders: tuple[str, ...]
    inferred: bool = False

    @classmethod
    def from_config(cls, site: Site, allow: Allowlist,
                    inferred_local: list[str] | None = None) -> SiteFacts:
        # inferred ones in a fixed order: they come most frequent first, and facts that
        # only differ in that order are the same facts (a follower keeps what it
        # enriched with the same facts)
        local = _lowered(site.local_domains or sorted(set(inferred_local or ())))
        return cls(local=local, relay=_lowered(site.relay_domains),
                   trusted=tuple(_net(n) for n in site.trusted_networks),
                   known_senders=_lowered(site.known_senders),
                   allow_nets=tuple(_net(n) for n in allow.networks),
                   allow_users=frozenset(_lowered(allow.users)),
                   allow_senders=_lowered(allow.senders),
                   inferred=not site.local_domains and bool(inferred_local))

    @functools.cached_property
    def key(self) -> str:
        """The same for equal facts in any process: what a stored enrichment was made
        with (a frozenset's order, and `hash`, differ from one process to the next)."""
        return json.dumps([self.local, self.relay, [str(n) for n in self.trusted],
                           self.known_senders, [str(n) for n in self.allow_nets],
                           sorted(self.allow_users), self.allow_senders, self.inferred])

    # the regexes, made once per facts (a follower asks every second)
    @functools.cached_property
    def _local_rx(self) -> str | None:
        return _domains_regex(self.local)

    @functools.cached_property
    def _ours_rx(self) -> str | None:
        return _domains_regex(self.local + self.relay)

    @functools.cached_property
    def _known_rx(self) -> str | None:
        return glob_regex(self.known_senders)

    @functools.cached_property
    def _allowed_rx(self) -> str | None:
        return glob_regex(self.allow_senders)

    def local_domains(self, domains: pa.Array) -> pa.Array:
        """Whether each domain is ours or a subdomain of one of ours."""
        return _matches(domains, self._local_rx)

    def external_domains(self, domains: pa.Array) -> pa.Array:
        """Whether each domain is neither ours nor one we relay for."""
        return pc.and_(pc.not_equal(domains, ""), pc.invert(_matches(domains, self._ours_rx)))

    def known_senders_of(self, normalized: pa.Array) -> pa.Array:
        """Whether each (normalized) sender is one this site sends as: the configured
        patterns, else any address in the local domains. The null sender (bounces, `""`)
        is the MTA's own: known."""
        mine = _matches(normalized, self._known_rx) if self.known_senders else \
            pc.fill_null(self.local_domains(domains_of(normalized)), False)
        return pc.or_(pc.equal(normalized, ""), mine)

    def allowed_senders(self, normalized: pa.Array) -> pa.Array:
        """Whether each (normalized) sender is allowlisted; never the null sender."""
        return pc.and_(pc.not_equal(normalized, ""), _matches(normalized, self._allowed_rx))

    def allowed_users(self, users: pa.Array) -> pa.Array:
        return pc.is_in(pc.utf8_lower(users), pa.array(sorted(self.allow_users), pa.string()))

    def is_trusted(self, ip: str | None) -> bool:
        return _ip_in(ip, self.trusted)

    def about_addresses(self, ips: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
        """(client_net, trusted, allowlisted) of each address, each parsed once: a botnet
        brings hundreds of thousands of distinct addresses, more than `_address`
        remembers, and asking the three questions one after the other parsed each three
        times (half of a cron pass's time under one)."""
        nets, trusted, allowed = [], [], []
        for ip in ips.to_pylist():
            addr = _parsed(ip) if ip else None
            # an IPv4 address is its own network, as the parser wrote it (normalised)
            nets.append(ip if addr is not None and addr.version == 4 and ":" not in ip
                        else _net_of(addr))
            trusted.append(_in(addr, self.trusted))
            allowed.append(_in(addr, self.allow_nets))
        return (pa.array(nets, pa.string()), pa.array(trusted, pa.bool_()),
                pa.array(allowed, pa.bool_()))

    def allows_ip(self, ip: str | None) -> bool:
        return _ip_in(ip, self.allow_nets)

    def spares_network(self, network: str) -> bool:
        """Whether a network touches a trusted or allowlisted one: acting on it (a ban)
        would reach clients the site never acts on."""
        net = _net(network)
        return any(net.version == n.version and net.overlaps(n)
                   for n in (*self.trusted, *self.allow_nets))


def _parsed(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return addr.ipv4_mapped if addr.version == 6 and addr.ipv4_mapped else addr


_address = _remembered(_parsed)


def _in(addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
        nets: tuple[Network, ...]) -> bool:
    return addr is not None and any(addr.version == n.version and addr in n for n in nets)


def _ip_in(ip: str | None, nets: tuple[Network, ...]) -> bool:
    return bool(ip) and bool(nets) and _in(_address(ip), nets)
