"""Site facts, table-driven: sender normalization (SRS, BATV, VERP), domains, client
networks, and the site's judgements (local, relay, trusted, known sender, allowlists)."""

from __future__ import annotations

import fnmatch

import pyarrow as pa
import pytest

from logwatch.config import Allowlist, Site
from logwatch.sitefacts import SiteFacts, client_net, domains_of, normalized_senders


def _one(question, value: str | None) -> object:
    """A question about an array, asked of one value (tables below list the values)."""
    return question(pa.array([value], pa.string()))[0].as_py()


def normalize_sender(sender: str) -> str:
    return _one(normalized_senders, sender)


@pytest.mark.parametrize("sender, expected", [
    # plain addresses: trimmed and lower-cased
    ("Alice@Example.COM", "alice@example.com"),
    ("  bob@example.org ", "bob@example.org"),
    ("", ""),
    ("MAILER-DAEMON", "mailer-daemon"),
    # SRS0 (hash, time stamp, original domain, original local part), any separator
    ("SRS0=HHbH=TT=orig.example=alice@forwarder.example", "alice@orig.example"),
    ("srs0+HHbH=TT=orig.example=alice@forwarder.example", "alice@orig.example"),
    ("SRS0-HHbH=TT=orig.example=alice@forwarder.example", "alice@orig.example"),
    ("SRS0=HHbH=TT=Orig.Example=Alice.Smith@forwarder.example", "alice.smith@orig.example"),
    # the original local part may itself contain `=`
    ("SRS0=h=tt=orig.example=a=b@fwd.example", "a=b@orig.example"),
    # SRS1: forwarded twice; the original is after the `==`
    ("SRS1=HHH=forwarder.example==HHbH=TT=orig.example=alice@second.example",
     "alice@orig.example"),
    # BATV: prvs=tag=local@domain
    ("prvs=1234abcdef=bob@example.com", "bob@example.com"),
    ("PRVS=0123456789=Bob@Example.com", "bob@example.com"),
    # the older local=tag form is left alone
    ("bob=prvs=1234@example.com", "bob=prvs=1234@example.com"),
    # VERP and sub-addresses: one sender, not one per recipient
    ("list-bounces+carol=example.org@lists.example", "list-bounces@lists.example"),
    ("owner-list+M1234=dave=example.net@lists.example", "owner-list@lists.example"),
    ("user+tag@example.com", "user@example.com"),
    # layered: BATV around a VERP address, SRS around a sub-address
    ("prvs=tag=list-bounces+x=y.org@lists.example", "list-bounces@lists.example"),
    ("SRS0=h=tt=orig.example=first+tag@fwd.example", "first@orig.example"),
    # not an address: returned as is (lower-cased)
    ("noat", "noat"),
    ("SRS0=broken@fwd.example", "srs0=broken@fwd.example"),
])
def test_normalize_sender(sender: str, expected: str) -> None:
    assert normalize_sender(sender) == expected


@pytest.mark.parametrize("address, expected", [
    ("a@Example.COM", "example.com"),
    ("a@example.com.", "example.com"),
    ("a@[192.0.2.1]", "192.0.2.1"),
    ("a@b@C.Example", "c.example"),
    ("  a@ example.org ", "example.org"),
    ("a@", None),
    ("noat", None),
    ("", None),
    (None, None),
])
def test_domains_of(address: str | None, expected: str | None) -> None:
    assert _one(domains_of, address) == expected


@pytest.mark.parametrize("ip, expected", [
    ("192.0.2.1", "192.0.2.1"),
    ("203.0.113.255", "203.0.113.255"),
    # IPv6: the /64 (one host may rotate through it)
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
    ("2001:DB8::1", "2001:db8::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    # IPv4-mapped IPv6 (a dual-stack socket): the IPv4 address
    ("::ffff:192.0.2.1", "192.0.2.1"),
    ("::FFFF:203.0.113.9", "203.0.113.9"),
    # not addresses
    ("unknown", None),
    ("192.0.2.256", None),
    ("[2001:db8::1]", None),
    ("", None),
    (None, None),
])
def test_client_net(ip: str | None, expected: str | None) -> None:
    assert client_net(ip) == expected


def test_client_net_groups_an_ipv6_host_rotating_through_its_64() -> None:
    nets = {client_net(f"2001:db8:aa:bb::{i:x}") for i in range(1, 200)}
    assert nets == {"2001:db8:aa:bb::/64"}
    assert client_net("2001:db8:aa:bc::1") != client_net("2001:db8:aa:bb::1")


@pytest.fixture(scope="module")
def facts() -> SiteFacts:
    site = Site(local_domains=["example.com", "Example.ORG"],
                relay_domains=["partner.example"],
                trusted_networks=["127.0.0.0/8", "::1/128", "192.0.2.0/24", "2001:db8:1::/48",
                                  "::ffff:198.51.100.0/120"])
    allow = Allowlist(networks=["203.0.113.7", "2001:db8:ff::/64"], users=["Monitor"],
                      senders=["*@Partner.example", "alerts@*"])
    return SiteFacts.from_config(site, allow)


@pytest.mark.parametrize("domain, local, relay, external", [
    ("example.com", True, False, False),
    ("mail.example.com", True, False, False),      # subdomains too
    ("a.b.example.com", True, False, False),
    ("example.org", True, False, False),           # config spelling normalized
    ("notexample.com", False, False, True),        # a suffix is not a subdomain
    ("example.com.evil.net", False, False, True),
    ("com", False, False, True),
    ("partner.example", False, True, False),
    ("mx.partner.example", False, True, False),
    ("otherpartner.example", False, False, True),
    ("gmail.com", False, False, True),
    (None, False, False, False),                   # unknown: neither
    ("", False, False, False),
])
def test_domain_judgements(facts: SiteFacts, domain: str | None, local: bool, relay: bool,
                           external: bool) -> None:
    assert bool(_one(facts.local_domains, domain)) is local
    assert bool(_one(facts.external_domains, domain)) is external
    if domain is None:                 # unknown: neither ours nor not
        assert _one(facts.local_domains, domain) is None
    # a relay domain is the one neither local nor external
    assert (not local and not external and domain is not None and domain != "") is relay


@pytest.mark.parametrize("ip, trusted", [
    ("127.0.0.1", True),
    ("::1", True),
    ("192.0.2.77", True),
    ("::ffff:192.0.2.77", True),       # mapped address in an IPv4 network
    ("192.0.3.1", False),
    ("2001:db8:1:ffff::9", True),
    ("2001:db8:2::9", False),
    ("198.51.100.9", True),            # IPv4 address in a mapped network (Postfix style)
    ("::ffff:198.51.100.9", True),
    ("198.51.101.9", False),
    ("unknown", False),
    ("", False),
    (None, False),
])
def test_trusted(facts: SiteFacts, ip: str | None, trusted: bool) -> None:
    assert facts.is_trusted(ip) is trusted


@pytest.mark.parametrize("sender, known", [
    ("", True),                                  # the null sender is the MTA's own
    ("alice@example.com", True),
    ("alice@mail.example.com", True),            # default: any address in local domains
    ("alice@example.org", True),
    ("alice@example.net", False),
    ("alice@notexample.com", False),
    ("example.com@evil.net", False),
    (normalize_sender("SRS0=h=tt=example.com=alice@forwarder.example"), True),
    (normalize_sender("SRS0=h=tt=evil.net=alice@example.com"), False),
    (normalize_sender("prvs=abc=bob@example.com"), True),
    (normalize_sender("bob+news@example.com"), True),
])
def test_default_known_senders_are_the_local_domains(facts: SiteFacts, sender: str,
                                                      known: bool) -> None:
    assert _one(facts.known_senders_of, sender) is known


@pytest.mark.parametrize("sender, known", [
    ("billing@example.com", True),
    ("noreply@shop.example", True),
    ("alice@example.com", False),                # explicit patterns replace the default
    ("billing@mail.example.com", False),
    ("", True),
])
def test_explicit_known_senders(sender: str, known: bool) -> None:
    site = Site(local_domains=["example.com"],
                known_senders=["Billing@example.com", "*@shop.example"])
    f = SiteFacts.from_config(site, Allowlist())
    assert _one(f.known_senders_of, sender) is known


def test_no_local_domains_knows_only_the_null_sender() -> None:
    f = SiteFacts.from_config(Site(), Allowlist())
    assert _one(f.known_senders_of, "") and not _one(f.known_senders_of, "alice@example.com")
    assert not _one(f.local_domains, "example.com") and _one(f.external_domains, "example.com")
    assert not f.inferred


def test_inferred_local_domains() -> None:
    f = SiteFacts.from_config(Site(), Allowlist(), inferred_local=["example.net"])
    assert f.inferred and _one(f.local_domains, "mx.example.net")
    assert _one(f.known_senders_of, "bob@example.net")
    configured = SiteFacts.from_config(Site(local_domains=["example.com"]), Allowlist(),
                                       inferred_local=["example.net"])
    assert not configured.inferred and not _one(configured.local_domains, "example.net")


@pytest.mark.parametrize("ip, allowed", [
    ("203.0.113.7", True),
    ("::ffff:203.0.113.7", True),
    ("203.0.113.8", False),
    ("2001:db8:ff::1234", True),
    ("2001:db8:ff:1::1", False),
    ("192.0.2.1", False),              # trusted is not allowlisted
    (None, False),
    ("garbage", False),
])
def test_allowlisted_ip(facts: SiteFacts, ip: str | None, allowed: bool) -> None:
    assert facts.allows_ip(ip) is allowed


@pytest.mark.parametrize("user, allowed", [
    ("monitor", True), ("MONITOR", True), ("monitor2", False), ("", False), (None, False),
])
def test_allowlisted_user(facts: SiteFacts, user: str | None, allowed: bool) -> None:
    assert _one(facts.allowed_users, user) is allowed


@pytest.mark.parametrize("sender, allowed", [
    ("news@partner.example", True),
    ("alerts@anything.example", True),
    ("news@mx.partner.example", False),
    ("alert@example.com", False),
    ("", False),
    (None, False),
])
def test_allowlisted_sender(facts: SiteFacts, sender: str | None, allowed: bool) -> None:
    assert bool(_one(facts.allowed_senders, sender)) is allowed


def test_empty_allowlist_allows_nothing() -> None:
    f = SiteFacts.from_config(Site(), Allowlist())
    assert not f.allows_ip("127.0.0.1") and not _one(f.allowed_users, "root")
    assert not _one(f.allowed_senders, "root@localhost")


PATTERNS = ["*@example.com", "*@*.example.com", "bob?@x.org", "[abc]*@x.org", "[!a]*@x.org",
            "[]]@x.org", "[a-c]d@x.org", "a[@x.org", "a.b+c(d)@x.org", "*", "x^y$@z",
            "[^a]@x.org", "a\\b@x.org", "list-*@lists.example", "[z-a]*@x.org",
            "[az-ab]d@x.org", "*a*b*@x.org", "*@[(?>]x.org", "a[(?!)]b@x.org"]
SENDERS = ["bob@example.com", "bob@mx.example.com", "bob@example.com.evil", "bob1@x.org",
           "bob12@x.org", "abc@x.org", "zed@x.org", "]@x.org", "bd@x.org", "dd@x.org",
           "a[@x.org", "a.b+c(d)@x.org", "aXb+c(d)@x.org", "", "x^y$@z", "^@x.org", "b@x.org",
           "a\\b@x.org", "list-bounces@lists.example", "multi\nline@example.com",
           "q@:x.org", "q@>x.org", "a(b@x.org"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_sender_patterns_match_as_fnmatch_reads_them(pattern: str) -> None:
    """Patterns are matched as RE2 over whole arrays: the same answers as fnmatchcase,
    the shell-pattern reading the configuration documents."""
    f = SiteFacts.from_config(Site(known_senders=[pattern]), Allowlist(senders=[pattern]))
    got = f.allowed_senders(pa.array(SENDERS)).to_pylist()
    assert got == [s != "" and fnmatch.fnmatchcase(s, pattern) for s in SENDERS]
    known = f.known_senders_of(pa.array(SENDERS)).to_pylist()
    assert known == [s == "" or fnmatch.fnmatchcase(s, pattern) for s in SENDERS]
