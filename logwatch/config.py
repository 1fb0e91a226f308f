"""The site configuration (`/etc/mail-logwatch/config.toml`): validated, with defaults.

Every section refuses keys it does not know (a misspelt `trusted_network` silently doing
nothing is how an open relay goes unnoticed), and every error names file, line and key.
Rule overrides are checked against the rules themselves when those are loaded
(`rules_engine.loader`), because only then is it known which ids exist.
"""

from __future__ import annotations

import ipaddress
import re
import string
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from logwatch.durations import Period
from logwatch.errors import ConfigError
from logwatch.globs import check_globs
from logwatch.parse.clock import known_zone
from logwatch.parse.formats import FORMATS
from logwatch.tomlfile import at_line, load_toml, locate, validation_message

__all__ = ["Config", "Site", "Allowlist", "SourceConfig", "NotifyConfig", "Route", "ActionConfig",
           "load_config", "DEFAULT_PATH", "Network", "SEVERITIES"]

DEFAULT_PATH = Path("/etc/mail-logwatch/config.toml")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: A URL's scheme (`mailto:`, `slack:`): what no secrets_file path starts with.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _networks(values: list[str]) -> list[str]:
    """Addresses or CIDR networks, refused one by one with the value named."""
    for v in values:
        try:
            ipaddress.ip_network(v, strict=False)
        except ValueError:
            raise ValueError(f"{v!r} is not an IP address or network (like 192.0.2.0/24 "
                             "or 2001:db8::/32)") from None
    return values


def _domains(values: list[str]) -> list[str]:
    out = []
    for v in values:
        d = v.strip().lower().lstrip("@").rstrip(".")
        # labels of letters, digits, - and _: a `*.example.com` or a URL would match nothing
        if not re.fullmatch(r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W_](?:[\w-]*[^\W_])?|localhost", d):
            raise ValueError(f"{v!r} is not a domain (like example.com)")
        out.append(d)
    return out


class Allowlist(_Model):
    """Who is never alerted on nor acted against (fail2ban's `ignoreip`, wider)."""

    networks: list[str] = Field(default_factory=list, description="IPs or CIDR networks")
    users: list[str] = Field(default_factory=list, description="SASL usernames")
    senders: list[str] = Field(default_factory=list,
                               description="envelope sender patterns (`*@partner.example`)")

    _check_networks = field_validator("networks")(_networks)
    _check_senders = field_validator("senders")(check_globs)

    def merged(self, other: Allowlist) -> Allowlist:
        return Allowlist(networks=self.networks + other.networks,
                         users=self.users + other.users, senders=self.senders + other.senders)


class Site(_Model):
    """The facts about this mail system that turn log rows into judgements."""

    local_domains: list[str] = Field(
        default_factory=list,
        description="mail for these (and their subdomains) is local; when empty, inferred "
                    "from the local deliveries in the input")
    relay_domains: list[str] = Field(default_factory=list,
                                     description="domains we relay for (backup MX)")
    trusted_networks: list[str] = Field(
        default_factory=lambda: ["127.0.0.0/8", "::1/128"],
        description="clients allowed to relay without AUTH (Postfix mynetworks)")
    known_senders: list[str] = Field(
        default_factory=list,
        description="envelope sender patterns this site sends as; default: any address "
                    "in the local domains")
    timezone: str | None = Field(default=None,
                                 description="zone of year-less stamps and report buckets")

    _check_local = field_validator("local_domains", "relay_domains")(_domains)
    _check_known = field_validator("known_senders")(check_globs)
    _check_trusted = field_validator("trusted_networks")(_networks)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        if v is not None and not known_zone(v):
            raise ValueError(f"{v!r} is not a time zone (use an IANA name such as "
                             "Europe/Berlin or UTC)")
        return v


#: journalctl options a journald source may give (`--name=value`, or a flag alone): which
#: journal and which entries; never how they are printed, where reading starts, or a
#: command (`--vacuum-time=` would delete the journal, `--follow` never end a cron run)
JOURNAL_OPTIONS = ("--directory=", "--file=", "--root=", "--image=", "--machine=",
                   "--namespace=", "--unit=", "--user-unit=", "--identifier=",
                   "--priority=", "--facility=", "--grep=", "--case-sensitive=", "--merge",
                   "--system", "--user")


def _journal_args(values: list[str]) -> list[str]:
    for v in values:
        name, eq, value = v.partition("=")
        if not v.startswith("--") or name + eq not in JOURNAL_OPTIONS or (eq and not value):
            raise ValueError(f"{v!r} is not a journalctl option a source may give (one "
                             "argument each, like \"--directory=/var/log/journal\"; known: "
                             + " ".join(o + ("..." if o.endswith("=") else "")
                                        for o in JOURNAL_OPTIONS) + ")")
    return values


def _journal_match(values: list[str]) -> list[str]:
    for v in values:
        if v != "+" and not re.fullmatch(r"[A-Z0-9_]+=.*", v, re.S):
            raise ValueError(f"{v!r} is not a journal match (FIELD=value, like "
                             "SYSLOG_FACILITY=2, or + between alternatives)")
    return values


class SourceConfig(_Model):
    """One log to follow: a file (rotations found beside it) or the journal."""

    path: Path | None = None
    journald: bool = False
    host: str | None = None
    tz: str | None = None
    format: str | None = None
    journal_args: list[str] = Field(
        default_factory=list,
        description="journalctl options choosing the journal, one argument each "
                    "(`--directory=/var/log/journal`, `--file=...`, `--machine=...`); "
                    "default: the system's journal")
    journal_match: list[str] = Field(
        default_factory=lambda: ["SYSLOG_FACILITY=2"],
        description="journalctl matches (FIELD=value; `+` between alternatives); default: "
                    "the mail facility, where Postfix, Exim, Sendmail and Dovecot log")
    journal_first: Period = Field(
        default=86400,
        description="how far back from the journal's newest entry the first read of it "
                    "starts (0: all of it); later reads go on from the saved cursor")

    _check_args = field_validator("journal_args")(_journal_args)
    _check_match = field_validator("journal_match")(_journal_match)

    @field_validator("path")
    @classmethod
    def _one_file(cls, v: Path | None) -> Path | None:
        """A source is one log, its rotations found beside it: a pattern (`/var/log/*.log`)
        named no file, and `run` read nothing, each time, with a note."""
        if v is not None and any(c in str(v) for c in "*?["):
            raise ValueError("one log file per source (its rotations are found beside "
                             "it); a pattern is not expanded: give each log its own "
                             "[[sources]]")
        return v

    @model_validator(mode="after")
    def _one_kind(self) -> SourceConfig:
        if (self.path is None) == (not self.journald):
            raise ValueError("give either path = \"/var/log/mail.log\" or journald = true")
        if self.path is not None and {"journal_args", "journal_match",
                                      "journal_first"} & self.model_fields_set:
            raise ValueError("journal_args, journal_match and journal_first are for "
                             "journald = true sources")
        if self.format is not None and self.format not in FORMATS:
            raise ValueError(f"format {self.format!r} unknown; known: {', '.join(FORMATS)}")
        if self.tz is not None and not known_zone(self.tz):
            raise ValueError(f"tz {self.tz!r} is not a time zone")
        return self


SEVERITIES = ("info", "low", "medium", "high", "critical")


def _check_severity(v: str) -> str:
    if v not in SEVERITIES:
        raise ValueError(f"{v!r} is not a severity; known: {', '.join(SEVERITIES)}")
    return v


class Route(_Model):
    """An apprise URL and the least severe alert it receives."""

    url: str
    min_severity: str = "info"

    _severity = field_validator("min_severity")(_check_severity)


class NotifyConfig(_Model):
    """Where alerts go (apprise URLs; they carry tokens, so they are never printed)."""

    urls: list[Route] = Field(
        default_factory=list,
        description="apprise URLs, or { url = ..., min_severity = \"high\" } tables")

    @field_validator("urls", mode="before")
    @classmethod
    def _routes(cls, v: Any) -> Any:
        """A URL alone is a route for every alert: one model for both spellings, so that
        a mistake in a table is said once, not again as 'not a string'."""
        return [{"url": u} if isinstance(u, str) else u for u in v] if isinstance(v, list) \
            else v
    secrets_file: Path | None = Field(
        default=None, description="a root-only file: one apprise URL per line, optionally "
                                  "followed by a minimum severity")

    @field_validator("secrets_file", mode="before")
    @classmethod
    def _a_path(cls, v: Any) -> Any:
        """A URL written here by mistake carries its password: every later message that
        names the file (`cannot read`) would print it. Refused without the value."""
        if isinstance(v, str) and ("://" in v or _SCHEME.match(v)):
            raise ValueError("does not look like a path (a notify URL? it goes in "
                             "notify.urls or, one per line, inside the secrets file; "
                             "not shown: URLs carry passwords)")
        return v

    #: alerts below `medium` (the internet's background) wait for a digest: at most one
    #: message a destination in this time, holding every one that waited (0: each pass
    #: sends its own, as one digest when there are more than `digest_after`)
    digest_every: Period = 3600
    #: with `digest_every = 0`, when a pass raises more than this many alerts below
    #: `medium`, they go as one digest
    digest_after: int = Field(default=5, ge=0)
    #: when a run raises more than this many alerts of one rule at `medium` or above (a
    #: botnet's addresses, each its own key), they go as one digest of that rule; once
    #: this many of a rule went to a destination within `digest_every`, the rest of the
    #: flood waits for its digest
    flood_after: int = Field(default=20, ge=0)
    #: an incident that keeps growing is alerted again when its count has grown this much
    realert_factor: float = Field(default=4.0, gt=1)
    #: seconds before the first retry of a failed delivery; doubles up to an hour
    retry_after: float = Field(default=30.0, gt=0)
    #: an alert with lines of a source read for the first time, that ended this long
    #: before the newest line of each source its lines come from, is recorded, not sent
    #: nor acted on (0: all are sent): a tool installed on a server with a week of log
    #: must not page anyone, nor ban anyone, for last week (logwatch/backlog.py)
    backlog: Period = 86400


class ActionConfig(_Model):
    """A command run for each new incident of some rules (notify.actions)."""

    command: list[str] = Field(min_length=1, description="argv, run without a shell; "
                               "{client_ip}-style placeholders take validated key values")
    rules: list[str] = Field(min_length=1, description="rule ids that trigger it")
    min_severity: str = "info"
    timeout: float = Field(default=30.0, gt=0)

    @staticmethod
    def fields_of(arg: str) -> list[str]:
        """The placeholders of one argument (`{{` is a literal brace, not one). A format
        spec or conversion (`{client_ip:>40}`, `{client_ip!r}`) is refused: the value
        is passed exactly as validated, and a bad spec would fail at every incident."""
        fields = []
        for _, f, spec, conv in string.Formatter().parse(arg):
            if f is None:
                continue
            if spec or conv:
                raise ValueError(f"{{{f}{'!' + conv if conv else ''}"
                                 f"{':' + spec if spec else ''}}}: placeholders take no "
                                 "format spec or conversion")
            fields.append(f)
        return fields

    def placeholders(self) -> set[str]:
        return {f for arg in self.command for f in self.fields_of(arg)}

    @field_validator("command")
    @classmethod
    def _placeholders(cls, v: list[str]) -> list[str]:
        from logwatch.notify.actions import PLACEHOLDERS
        for arg in v:
            try:
                fields = cls.fields_of(arg)
            except ValueError as exc:
                raise ValueError(f"{arg!r}: {exc}") from None
            for f in fields:
                if f not in PLACEHOLDERS:
                    raise ValueError(f"{arg!r}: unknown placeholder {{{f}}}; known: "
                                     f"{', '.join(sorted(PLACEHOLDERS))}")
        return v

    _severity = field_validator("min_severity")(_check_severity)


class Config(_Model):
    state_dir: Path = Path("/var/lib/mail-logwatch")
    site: Site = Field(default_factory=Site)
    allow: Allowlist = Field(default_factory=Allowlist)
    rule_dirs: list[Path] = Field(default_factory=list,
                                  description="more rule files, after the built-in ones")
    sources: list[SourceConfig] = Field(default_factory=list)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    #: per-rule overrides by rule id; checked against the rules when they are loaded
    rules: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: commands run per new incident, by name
    actions: dict[str, ActionConfig] = Field(default_factory=dict)
    #: where the config came from, for messages that point back into it
    origin: Path | None = Field(default=None, exclude=True)
    text: str = Field(default="", exclude=True, repr=False)

    @field_validator("sources")
    @classmethod
    def _journals_once(cls, v: list[SourceConfig]) -> list[SourceConfig]:
        seen = [tuple(s.journal_args) for s in v if s.journald]
        if len(seen) != len(set(seen)):   # one cursor per journal
            raise ValueError("two journald sources read the same journal (the same "
                             "journal_args): give one, their journal_match joined by \"+\"")
        return v


def load_config(path: Path | None) -> Config:
    """The config at `path`, or the defaults when `path` is None."""
    if path is None:
        return Config()
    data, text = load_toml(path, ConfigError)
    for reserved in ("origin", "text"):
        if reserved in data:
            line = locate(text, (reserved,))
            raise ConfigError(at_line(path, line) +
                              f": field {reserved}: not a configuration key")
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, path, text)) from None
    # a relative path is the config's neighbour: cron's working directory is not the
    # config's (a state directory made wherever cron started, a log never found)
    # (and an absolute one: a source named relatively would be another source, with
    # marks of its own, when the config is given from another directory)
    base = path.absolute().parent

    def beside(p: Path) -> Path:
        return p if p.is_absolute() else base / p

    secrets = cfg.notify.secrets_file
    notify = cfg.notify if secrets is None else \
        cfg.notify.model_copy(update={"secrets_file": beside(secrets)})
    sources = [s if s.path is None else s.model_copy(update={"path": beside(s.path)})
               for s in cfg.sources]
    return cfg.model_copy(update={"origin": path, "text": text, "notify": notify,
                                  "rule_dirs": [beside(d) for d in cfg.rule_dirs],
                                  "state_dir": beside(cfg.state_dir), "sources": sources})
