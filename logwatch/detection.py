"""From log files and a config to alerts: parse, correlate, enrich, run the rules.

The one place that knows the order of the stages for a batch of files (`detect`); the
live modes reuse it with their own sources and state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pyarrow as pa
import pyarrow.compute as pc

from logwatch.config import Config
from logwatch.enrich import DERIVED_ROWS, enrich_events, enrich_messages, infer_local_domains
from logwatch.columns import in_schema, in_values
from logwatch.kept import joined, kept
from logwatch.parse.stats import SourceStats
from logwatch.pipeline import ParseOptions, ParseRun, default_parsers
from logwatch.rules_engine.loader import load_rules
from logwatch.rules_engine.needs import LINE_COLUMNS, MESSAGE_BASE_COLUMNS, Needs, needs_of
from logwatch.rules_engine.runner import Detection, run_rules
from logwatch.schema import EVENT_SCHEMA, MESSAGE_SCHEMA
from logwatch.sitefacts import SiteFacts

__all__ = ["DetectResult", "Observer", "detect_files", "site_facts", "kept_rows",
           "evidence_table"]


#: Sees each block of events and of finished messages as they are read.
Observer = Callable[[pa.Table, pa.Table], None]


@dataclass
class DetectResult:
    detection: Detection
    errors: list[str] = field(default_factory=list)
    lines: int = 0
    stats: list[SourceStats] = field(default_factory=list)
    #: what is said of the inputs together (two that hold the same lines)
    warnings: list[str] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """The inputs' notes first (two that hold the same lines double the counts the
        alerts tell), then the detection's, then each source's (a year from the clock,
        ...)."""
        return self.warnings + self.detection.warnings + [
            f"{s.source}: {w}" for s in self.stats for w in s.warnings]


def site_facts(cfg: Config, events: pa.Table, warnings: list[str],
               known: list[str] | None = None) -> SiteFacts:
    """The config's facts; local domains inferred from local deliveries when it names
    none (and said so, since every relaying judgement rests on them). `known`: domains
    inferred before (live mode, whose earlier deliveries are gone)."""
    inferred = None
    if not cfg.site.local_domains:
        new = infer_local_domains(events)
        inferred = list(dict.fromkeys([*new, *(known or [])]))
        if inferred:
            warnings.append("no local_domains in the config: inferred from local deliveries: "
                            + ", ".join(inferred[:10]) + (" ..." if len(inferred) > 10 else ""))
        else:
            warnings.append("no local_domains in the config and no local deliveries to infer "
                            "them from: every recipient domain counts as external")
    return SiteFacts.from_config(cfg.site, cfg.allow, inferred)


#: one file's name and fingerprint, repeated on every row of a block
_PER_FILE = ("source", "source_fp")


def _rule_mask(events: pa.Table, needs: Needs) -> pa.Array | None:
    """The rows of a block the rules can look at (None: all)."""
    if needs.rows is None:
        return None
    names = sorted(t.removeprefix("event:") for t in needs.rows if t.startswith("event:"))
    keep = in_values(events.column("event"), pa.array(names, pa.string()))
    for token in needs.rows:
        if token in DERIVED_ROWS:
            keep = pc.or_(keep, DERIVED_ROWS[token](events))
    return keep


def kept_rows(events: pa.Table, needs: Needs) -> tuple[pa.Table, pa.Table]:
    """What a block leaves for the rules: the rows and columns they can look at, and the
    narrow rows of the lines messages are told by (evidence of message alerts)."""
    lines = in_values(events.column("event"), pa.array(sorted(needs.line_events), pa.string()))
    return (kept(events.select([c for c in events.column_names if c in needs.columns]),
                 _rule_mask(events, needs), _PER_FILE),
            kept(events.select(list(LINE_COLUMNS)), lines, _PER_FILE))


def evidence_table(events: pa.Table, lines: pa.Table) -> pa.Table:
    """Where the lines of messages are found: the rules' rows and the narrow lines, side
    by side without a copy (a follower holds hours of both, and asks every pass). The
    narrow lines are whole, since a follower keeps the rules' rows only while a rule may
    count them; a line both hold is taken once where it is looked up (MessageLines)."""
    return pa.concat_tables([events.select(list(LINE_COLUMNS)), lines],
                            promote_options="permissive")


def detect_files(files: list[str], cfg: Config, options: ParseOptions,
                 observe: Observer | None = None,
                 columns: frozenset[str] = frozenset()) -> DetectResult:
    """Alerts over `files` read as one batch. `observe` sees every block of events (with
    `columns` besides those the rules need) and of finished messages on the way: a
    report is made in the same pass as the alerts it shows."""
    rules = load_rules(cfg)
    needs = needs_of(rules)
    options = replace(options, columns=needs.columns | columns)
    run = ParseRun(files, default_parsers(options.syslog_names), options)
    events, lines, messages = [], [], []
    msg_columns = [n for n in MESSAGE_SCHEMA.names
                   if n in needs.columns or n in MESSAGE_BASE_COLUMNS]
    for ev, done in run.correlated():
        if observe is not None:
            observe(ev, done)
        rows, evidence = kept_rows(ev, needs)
        events.append(rows)
        lines.append(evidence)
        messages.append(kept(done.select(msg_columns)))
    # done with the blocks: what the default pool still holds of them would otherwise
    # sit under the joins and the enrichment (80 MB of the 5M-line report's peak)
    pa.default_memory_pool().release_unused()
    no_rows, no_lines = kept_rows(EVENT_SCHEMA.empty_table(), needs)
    ev_table = joined(events, no_rows)
    line_table = joined(lines, no_lines)
    # the columns no rule reads come back all null: the enrichment reads the whole schema
    msg_table = in_schema(joined(messages, MESSAGE_SCHEMA.empty_table().select(msg_columns)),
                          MESSAGE_SCHEMA)
    warnings: list[str] = []
    facts = site_facts(cfg, ev_table, warnings)
    ev_rich = enrich_events(ev_table, facts, msg_table)
    msg_rich = enrich_messages(msg_table, ev_table, facts)
    detection = run_rules(rules, ev_rich, msg_rich, evidence_table(ev_table, line_table))
    detection.warnings[:0] = warnings
    return DetectResult(detection, run.errors, sum(s.lines for s in run.stats), run.stats,
                        run.warnings)
