"""Run the rules over enriched events and messages: incidents to alerts, with evidence.

Every rule sees its table minus the allowlisted rows (the config's `[allow]` and the
rule's own), minus trusted clients when it says `skip_trusted`; the kind finds
incidents; each becomes one alert whose evidence is its first lines, read back from
the sources, and whose summary is the rule's template filled from the incident.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from string import Template
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.alerts import Alert, Evidence, rfc3339
from logwatch.config import Site
from logwatch.durations import US, format_duration
from logwatch.evidence import LineRef, read_lines
from logwatch.rules_engine.distinct import find_distinct
from logwatch.rules_engine.incident import Incident
from logwatch.rules_engine.level import find_level
from logwatch.rules_engine.lookback import ThenSeen
from logwatch.rules_engine.model import TIME_FIELD, severity_rank, summary_names
from logwatch.columns import distinct, distinct_pairs, plain, to_numpy
from logwatch.rules_engine.message_lines import MessageLines
from logwatch.rules_engine.rows import row_weights
from logwatch.rules_engine.select import selected
from logwatch.rules_engine.sequence import find_sequence
from logwatch.rules_engine.spike import find_spike
from logwatch.rules_engine.baselines import PastCounts
from logwatch.rules_engine.threshold import find_match, find_threshold
from logwatch.rules_engine.windows import key_codes
from logwatch.enrich import allowlisted, per_value
from logwatch.sanitize import clipped
from logwatch.sitefacts import SiteFacts, normalized_senders

__all__ = ["Detection", "run_rules", "still_needed", "rule_span_us"]

_FINDERS: dict[str, Callable[[Any, pa.Table, np.ndarray], list[Incident]]] = {
    "threshold": find_threshold, "match": find_match, "distinct": find_distinct,
    "sequence": find_sequence, "spike": find_spike, "level": find_level,
}
#: values listed in a summary's `$<field>_values`
_LISTED = 5
#: the most of each listed value shown (an address is at most 254 characters; a logged
#: recipient can be 100 KB)
_VALUE_CHARS = 256
#: Kinds that find incidents in each group (`group_by`) from its rows alone: a group
#: that no new row reaches has the incidents it had on the last pass.
_PER_GROUP = ("threshold", "distinct", "sequence", "match")


@dataclass
class Detection:
    alerts: list[Alert] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: per rule, the rows of its table it selects (live mode keeps those it still needs)
    masks: dict[str, np.ndarray] = field(default_factory=dict)


def _rule_allows(rule: Any, table: pa.Table) -> np.ndarray:
    """Rows the rule's own `allow` list exempts."""
    allow = rule.allow
    if not (allow.networks or allow.users or allow.senders):
        return np.zeros(table.num_rows, bool)
    facts = SiteFacts.from_config(Site(), allow)
    normalized = per_value(table.column("sender"), normalized_senders)
    return allowlisted(table, facts, normalized).to_numpy(zero_copy_only=False)


def rule_span_us(rule: Any) -> int:
    """How far back from the newest row a rule can look: its window, or two intervals
    (the one running and the last whole one); a match rule only at new rows."""
    if rule.kind in ("threshold", "distinct", "sequence"):
        return rule.window * US
    if rule.kind in ("spike", "level"):
        return 2 * rule.interval * US
    return 0


def still_needed(rules: list[Any], table: pa.Table, table_name: str, time_field: str,
                 masks: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Rows of `table` that some rule on it may still count on the next pass: selected
    by the rule (`masks`: the rows a detection found it selects, of a table that
    begins with this one) and within its span of the newest row."""
    keep = np.zeros(table.num_rows, bool)
    if not table.num_rows:
        return keep
    ts = pc.fill_null(table.column(time_field).cast(pa.int64()), 0).to_numpy(
        zero_copy_only=False)
    newest = int(ts.max())
    for rule in rules:
        if rule.table == table_name and rule_span_us(rule):
            mask = _base_mask(rule, table) if masks is None else masks[rule.id][:table.num_rows]
            keep |= mask & (ts >= newest - rule_span_us(rule))
    return keep


def _base_mask(rule: Any, table: pa.Table) -> np.ndarray:
    """The rows the rule can count. A sequence counts only its `first` and `then` rows:
    taken as all rows, they were what a follower kept for its hour, a million rows
    after five minutes at 20,000 lines/s."""
    mask = selected(table, rule.where, rule.unless)
    if rule.kind == "sequence":
        mask &= selected(table, rule.first.where, rule.first.unless) | selected(
            table, rule.then.where, rule.then.unless)
    mask &= ~pc.fill_null(table.column("allowlisted"), False).to_numpy(zero_copy_only=False)
    if rule.skip_trusted:
        mask &= ~pc.fill_null(table.column("client_trusted"), False).to_numpy(
            zero_copy_only=False)
    return mask & ~_rule_allows(rule, table)


class _Columns(dict[str, pa.Array]):
    """A table's columns, each as one array, made on first use: a `take` from a column
    in pieces joins the pieces first, and once per alert that was 2.6 s of a cron run
    under a botnet (thousands of alerts, a million rows held)."""

    def __init__(self, table: pa.Table) -> None:
        super().__init__()
        self.table = table

    def __missing__(self, name: str) -> pa.Array:
        self[name] = plain(self.table.column(name))
        return self[name]


def _values(column: pa.Array, rows: np.ndarray) -> str:
    vals = column.take(pa.array(rows)).drop_null()
    if pa.types.is_list(vals.type):
        vals = pc.list_flatten(vals)
    counts = Counter(str(v) for v in vals.to_pylist())
    top = [clipped(v, _VALUE_CHARS) for v, _ in counts.most_common(_LISTED)]
    more = len(counts) - len(top)
    return ", ".join(top) + (f" and {more} more" if more > 0 else "") if top else "-"


class _Fill(dict[str, str]):
    """Template values: computed on first use (`$sasl_username_values`), `?` if unknown."""

    def __init__(self, columns: _Columns, rows: np.ndarray, base: dict[str, str]) -> None:
        super().__init__(base)
        self.columns, self.rows = columns, rows

    def __missing__(self, name: str) -> str:
        column = name.removesuffix("_values")
        if name.endswith("_values") and column in self.columns.table.column_names:
            self[name] = _values(self.columns[column], self.rows)
            return self[name]
        return "?"


def _summary(rule: Any, columns: _Columns, inc: Incident) -> str:
    base = {"count": str(inc.count), "span": format_duration((inc.last_us - inc.first_us) / US),
            "first": rfc3339(inc.first_us), "last": rfc3339(inc.last_us),
            "window": format_duration(rule.window), "rule": rule.id}
    for name in ("threshold", "min_first"):
        if hasattr(rule, name):
            base[name] = str(getattr(rule, name))
    base.update({k: "-" if v is None else str(v) for k, v in inc.key.items()})
    base.update({k: "no history" if v is None else str(v) for k, v in inc.details.items()
                 if not isinstance(v, (list, dict))})
    names = summary_names(rule.summary)
    fill = _Fill(columns, inc.rows, base)
    return Template(rule.summary).substitute({n: fill[n] for n in names})


def _evidence_refs(table: pa.Table, rows: list[np.ndarray]) -> list[list[LineRef]]:
    """Where each alert's lines (`rows` of `table`, one array per alert) are: one take
    per column for all the alerts, not one per alert (a day's log can raise thousands)."""
    counts = [len(r) for r in rows]
    take = pa.array(np.concatenate(rows) if rows else np.zeros(0, np.int64))
    sources = plain(table.column("source").take(take)).to_pylist()
    prints = plain(table.column("source_fp").take(take)).to_pylist() \
        if "source_fp" in table.column_names else [None] * len(sources)
    offsets = table.column("offset").take(take).to_pylist()
    # a journal's entries are found again by cursor (evidence.stand_in)
    cursors = plain(table.column("cursor").take(take)).to_pylist() \
        if "cursor" in table.column_names else [None] * len(sources)
    times = table.column("ts").take(take).cast(pa.int64()).to_pylist()
    refs = [LineRef(s, o, f, c, t if c is not None else None)
            for s, o, f, c, t in zip(sources, offsets, prints, cursors, times)]
    ends = np.cumsum(counts).tolist()
    return [refs[e - c:e] for c, e in zip(counts, ends)]


def _add_evidence(told: list[tuple[Any, Alert, np.ndarray]], events: pa.Table,
                  messages: pa.Table, lines: pa.Table, sources: bool) -> None:
    """Each alert's evidence: its first rows, or for a messages rule the first lines of
    its messages (`lines`: key, time, source, offset), found for all such alerts at
    once; a refusal is shown with the other lines of its message (`of_refusals`). Then
    the lines are read from their files in one go. With `sources`, each alert's
    `sources` too, from all its rows."""
    rows = [r for _, _, r in told]
    found = MessageLines(messages, lines)
    of_messages = [i for i, (rule, _, _) in enumerate(told) if rule.table == "messages"]
    for i, message_rows in zip(of_messages, found.rows([rows[i] for i in of_messages])):
        rows[i] = message_rows
    of_events = [i for i, (rule, _, _) in enumerate(told) if rule.table == "events"]
    besides = dict(zip(of_events, found.of_refusals(events, [rows[i] for i in of_events])))
    refs: list[list[LineRef]] = [[] for _ in told]
    totals = [len(r) for r in rows]
    for name, table in (("events", events), ("messages", lines)):
        at = [i for i, (rule, _, _) in enumerate(told) if rule.table == name]
        for i, found_refs in zip(at, _evidence_refs(
                table, [rows[i] if len(besides.get(i, ())) else
                        rows[i][:told[i][0].evidence_max] for i in at])):
            refs[i] = found_refs
    for i, more in besides.items():
        if len(more):
            refs[i], totals[i] = _with_lines_of(events, rows[i], refs[i], lines, more,
                                                told[i][0].evidence_max)
    read = read_lines(r for alert_refs in refs for r in alert_refs)
    for (_, alert, _), total, alert_refs in zip(told, totals, refs):
        alert.evidence_total = total
        alert.evidence = [Evidence(read[r][0], r.offset, read[r][1]) for r in alert_refs]
    if sources:
        for name, table in (("events", events), ("messages", lines)):
            at = [i for i, (rule, _, _) in enumerate(told) if rule.table == name]
            for i, found_sources in zip(at, _sources_of(table, [rows[i] for i in at])):
                told[i][1].sources = found_sources


def _sources_of(table: pa.Table, rows: list[np.ndarray]) -> list[list[str]]:
    """The sources of each list of `rows` of `table`: one take for all of them (a
    botnet's pass tells thousands of alerts)."""
    if not rows:
        return []
    label = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
    taken = table.column("source").take(pa.array(np.concatenate(rows).astype(np.int64)))
    coded = pc.dictionary_encode(plain(taken))
    codes = pc.fill_null(coded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    names = coded.dictionary.to_pylist()
    out: list[list[str]] = [[] for _ in rows]
    for alert, code in zip(*(a.tolist() for a in distinct_pairs(label, codes + 1))):
        if code:
            out[alert].append(names[code - 1])
    return out


def _with_lines_of(events: pa.Table, rows: np.ndarray, refs: list[LineRef],
                   lines: pa.Table, more: np.ndarray, most: int) -> tuple[list[LineRef], int]:
    """An alert's own lines (`rows` of `events`, at `refs`) with the other lines of its
    messages (`more`, rows of `lines`), in the order they were written: the first of
    both, a quarter of `most` kept for the others (the line that names the client comes
    after the refusals), and how many there are in all."""
    def stamped(table: pa.Table, at: np.ndarray, where: list[LineRef]
                ) -> list[tuple[int, int, LineRef]]:
        ts = table.column("ts").take(pa.array(at)).cast(pa.int64()).to_numpy().tolist()
        return [(t, r.offset, r) for t, r in zip(ts, where)]

    own = stamped(events, rows, refs)
    mine = {(r.source, r.offset) for r in refs}
    others = sorted((x for x in stamped(lines, more, _evidence_refs(lines, [more])[0])
                     if (x[2].source, x[2].offset) not in mine), key=_written)
    k = min(len(others), max(1, most // 4))
    shown = sorted(own[:most - k] + others[:k], key=_written)
    return [r for _, _, r in shown], len(own) + len(others)


def _written(line: tuple[int, int, LineRef]) -> tuple[int, int]:
    """A stamped line's place: its time, then where it is in its file."""
    return line[0], line[1]


def _blind_spots(rule: Any, table: pa.Table, mask: np.ndarray) -> str | None:
    """Say once when the rows a rule needs lack the field it counts by (a Postfix that
    logs failures without usernames leaves distributed_bruteforce blind)."""
    need = getattr(rule, "blind_without", None)
    if not need or not mask.any():
        return None
    missing = mask & pc.is_null(plain(table.column(need))).to_numpy(zero_copy_only=False)
    if not missing.any():
        return None
    by_mta = Counter(plain(table.column("mta").take(pa.array(np.flatnonzero(missing))))
                     .to_pylist())
    said = ", ".join(f"{n} from {m}" for m, n in by_mta.most_common())
    return (f"{rule.id}: {int(missing.sum())} of {int(mask.sum())} rows it would count have "
            f"no {need} ({said}); the rule cannot see them")


def _row_pairs(incidents: list[Incident]) -> tuple[np.ndarray, np.ndarray]:
    """(incident index, row) for each row of each incident, each pair once, by row."""
    if not incidents:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ids = np.repeat(np.arange(len(incidents)), [len(i.rows) for i in incidents])
    rows = np.concatenate([i.rows for i in incidents]).astype(np.int64)
    pairs = distinct(rows * len(incidents) + ids)      # sorted by row, then incident
    return pairs % len(incidents), pairs // len(incidents)


def _superseded(rule: Any, found: dict[str, list[Incident]], table: pa.Table) -> np.ndarray:
    """Which of the rule's incidents an incident of a rule named in `superseded_by`
    holds half of, by what the rows weigh in this rule's count (a Dovecot line of four
    passwords is four failures, not one line). All pairs at once: asked incident by
    incident against every incident of the other rule, in Python sets, it took a tenth
    of a follower's pass."""
    mine = found[rule.id]
    out = np.zeros(len(mine), bool)
    if not rule.superseded_by:
        return out
    my_ids, my_rows = _row_pairs(mine)
    weight = _row_weight(rule, table, my_rows)
    size = np.bincount(my_ids, weights=weight, minlength=len(mine))
    for other in rule.superseded_by:
        their_ids, their_rows = _row_pairs(found.get(other, []))
        if not len(their_rows):
            continue
        lo = np.searchsorted(their_rows, my_rows, "left")
        n = np.searchsorted(their_rows, my_rows, "right") - lo
        # each row of mine with each incident of theirs that holds it
        at = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
        pair = np.repeat(my_ids, n) * len(found[other]) + their_ids[at]
        codes, inverse = np.unique(pair, return_inverse=True)
        shared = np.bincount(inverse.reshape(-1), weights=np.repeat(weight, n))
        most = np.zeros(len(mine))
        np.maximum.at(most, codes // len(found[other]), shared)
        out |= (most > 0) & (most * 2 >= size)
    return out


def _scopes(rules: list[Any], tables: dict[str, pa.Table], masks: dict[str, np.ndarray],
            new_from: dict[str, int], changed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per rule that finds incidents group by group, the rows of its groups that a new
    row reaches (rows from `new_from[table]` on, and the earlier rows `changed[table]`
    names), or a row that a rule it supersedes looked at (so that an incident it would
    supersede is weighed against its incidents, as when all rows are looked at). Rules
    left out look at every row."""
    namers = {r.id: [a for a in rules if r.id in a.superseded_by] for r in rules}
    scopes: dict[str, np.ndarray] = {}
    folded: dict[tuple[str, str], pa.Array] = {}      # rules share key fields
    waiting = list(rules)
    while waiting:
        ready = [r for r in waiting if not any(a in waiting for a in namers[r.id])]
        if not ready:          # rules that supersede each other: both look at all rows
            break
        for rule in ready:
            waiting.remove(rule)
            start = new_from.get(rule.table)
            if rule.kind not in _PER_GROUP or start is None or any(
                    a.id not in scopes or a.table != rule.table for a in namers[rule.id]):
                continue
            table = tables[rule.table]
            seed = np.zeros(table.num_rows, bool)
            seed[start:] = True
            seed[changed.get(rule.table, [])] = True
            for a in namers[rule.id]:
                seed[scopes[a.id]] = True
            codes = _reached(table, rule, masks[rule.id], seed, folded)
            reached = codes >= 0
            able = _keys_able(rule, table, reached, codes)
            if able is not None:
                reached &= np.isin(codes, able)
            scopes[rule.id] = np.flatnonzero(reached)
    return scopes


def _reached(table: pa.Table, rule: Any, base: np.ndarray, seed: np.ndarray,
             folded: dict[tuple[str, str], pa.Array]) -> np.ndarray:
    """A key code for each row of `base` whose key (the rule's `group_by`; text without
    case, as `key_codes` compares it) is one of the `seed` rows' of `base`, -1 for the
    others. Which rows those may be is asked of each field by set membership, when the
    seeds are few; the codes are made for those alone. Encoding a whole column of a
    botnet's hundreds of thousands of client addresses cost a follower's pass 0.1-0.3 s
    a key, where the new rows reach a few hundred of them. `folded`: the key columns,
    lowered, of the rules before."""
    fields = rule.group_by
    maybe = base.copy()
    seeds = pa.array(np.flatnonzero(seed & base))
    # a pass that brings many rows (a cron run's half hour) reaches most keys: then
    # asking each row's key of a set as large as the column's is the slower way
    few = len(seeds) * 4 < np.count_nonzero(base)
    for name in fields if few else ():
        col = folded.get((rule.table, name))
        if col is None:
            col = plain(table.column(name))
            if pa.types.is_string(col.type):
                col = pc.utf8_lower(col)
            folded[(rule.table, name)] = col
        maybe &= to_numpy(pc.fill_null(pc.is_in(col, value_set=pc.unique(col.take(seeds))),
                                       False))
    rows = np.flatnonzero(maybe)          # a key value of each field: the key, mostly
    codes, has_key = key_codes(table.select(fields).take(pa.array(rows)), fields) \
        if fields else (np.zeros(len(rows), np.int64), np.ones(len(rows), bool))
    hit = has_key & np.isin(codes, distinct(codes[seed[rows] & has_key]))
    out = np.full(table.num_rows, -1, np.int64)
    out[rows[hit]] = codes[hit]
    return out


def _keys_able(rule: Any, table: pa.Table, rows: np.ndarray,
               codes: np.ndarray) -> np.ndarray | None:
    """Of the keys of `rows` (a mask holding all the rule's rows of each), those that
    could make the rule fire at all, where that is cheap to tell (None: any key could).

    A key that never fires has no incident, nor one for the rules it supersedes to be
    weighed against. Left in, the groups a pass reached were mostly such keys, looked
    at again every pass over the whole window: the logins of a server's own users and
    the failures of the internet's guessers (a sequence needs both, for one key), and
    the clients that failed once or sent to a recipient or two in the hour (a threshold
    or distinct rule needs its threshold's weight or number of values, and a key has
    no more than its rows hold)."""
    if rule.kind == "sequence":
        first = rows & selected(table, rule.first.where, rule.first.unless)
        then = rows & selected(table, rule.then.where, rule.then.unless)
        return np.intersect1d(distinct(codes[first]), distinct(codes[then]),
                              assume_unique=True)
    if rule.kind in ("distinct", "threshold"):
        held = _most_counted(rule, table)
        keys, at = np.unique(codes[rows], return_inverse=True)
        values = np.bincount(at.reshape(-1), weights=held[rows], minlength=len(keys))
        return keys[values >= rule.threshold]
    return None


def _row_weight(rule: Any, table: pa.Table, rows: np.ndarray | None = None) -> np.ndarray:
    """What each row (of `rows`) weighs in the rule's count: its weight field where it
    has one (a negative value none), else one."""
    return np.maximum(row_weights(table, getattr(rule, "weight", None), rows), 0)


def _most_counted(rule: Any, table: pa.Table) -> np.ndarray:
    """What each row can add to a threshold rule's count (its weight, when positive) or
    to a distinct rule's (its number of values)."""
    if rule.kind == "threshold":
        return _row_weight(rule, table)
    col = plain(table.column(rule.field))
    held = pc.list_value_length(col) if pa.types.is_list(col.type) else \
        pc.if_else(pc.is_valid(col), 1, 0)
    return pc.fill_null(held, 0).to_numpy(zero_copy_only=False)


def _found(rule: Any, table: pa.Table, mask: np.ndarray, scope: np.ndarray | None,
           past: PastCounts | None, seen: ThenSeen | None) -> list[Incident]:
    """The rule's incidents, looking only at the rows `scope` (when given); a spike
    rule with the counts of `past` intervals, a sequence rule with the then-rows earlier
    passes remember (`seen`)."""
    if rule.kind == "spike":
        return find_spike(rule, table, mask, past)
    find = partial(find_sequence, seen=seen) if rule.kind == "sequence" else \
        _FINDERS[rule.kind]
    if scope is None:
        return find(rule, table, mask)
    # only the columns the rule reads: the rest would be copied for nothing
    names = {f for f, _ in rule.fields_used()} | {TIME_FIELD[rule.table]}
    sub = table.select([c for c in table.column_names if c in names])
    found = find(rule, sub.take(pa.array(scope)), mask[scope])
    for inc in found:
        inc.rows = scope[inc.rows]
    return found


def run_rules(rules: list[Any], events: pa.Table, messages: pa.Table,
              lines: pa.Table | None = None,
              wanted: Callable[[Alert], bool] = lambda _: True,
              new_from: dict[str, int] | None = None,
              past: dict[str, PastCounts] | None = None,
              changed: dict[str, np.ndarray] | None = None,
              seen: ThenSeen | None = None, sources: bool = False) -> Detection:
    """Alerts of every rule over enriched `events` and `messages`, most severe first;
    `lines` (default: the events) locate the lines of messages for their evidence.

    `wanted` sees each alert before its evidence is looked up and read (the costly part):
    live mode answers no for incidents already told, which are then left out. Live
    mode also says where each table's rows of this pass begin (`new_from`): rules that
    judge group by group then look only at the groups those rows reach, as the others
    hold what they held on the last pass, which the ledger knows; and it gives the
    spike rules the counts of intervals its tables no longer hold (`past`), the
    earlier rows whose columns this pass changed (`changed`), whose groups it reaches,
    and the then-rows of sequence rules that earlier passes remember (`seen`); and asks
    each alert's `sources` when it needs them (`sources`: a first read's backlog).
    """
    lines = events if lines is None else lines
    out = Detection()
    found: dict[str, list[Incident]] = {}
    tables = {"events": events, "messages": messages}
    masks = out.masks = {rule.id: _base_mask(rule, tables[rule.table]) for rule in rules}
    scopes = _scopes(rules, tables, masks, new_from, changed or {}) if new_from else {}
    for rule in rules:
        table = tables[rule.table]
        note = _blind_spots(rule, table, masks[rule.id])
        if note:
            out.warnings.append(note)
        found[rule.id] = _found(rule, table, masks[rule.id], scopes.get(rule.id),
                                (past or {}).get(rule.id), seen)
    told: list[tuple[Any, Alert, np.ndarray]] = []
    columns = {name: _Columns(table) for name, table in tables.items()}
    for rule in rules:
        gone = _superseded(rule, found, tables[rule.table])
        for inc, superseded in zip(found[rule.id], gone.tolist()):
            if superseded:
                continue
            alert = Alert(rule=rule.id, title=rule.title, severity=rule.severity, key=inc.key,
                          first_us=inc.first_us, last_us=inc.last_us, count=inc.count,
                          summary="", evidence=[], evidence_total=0, details=inc.details,
                          false_positives=list(rule.false_positives))
            if not wanted(alert):
                continue
            alert.summary = _summary(rule, columns[rule.table], inc)
            told.append((rule, alert, inc.rows))
    _add_evidence(told, events, messages, lines, sources)
    out.alerts = [alert for _, alert, _ in told]
    out.alerts.sort(key=lambda a: (-severity_rank(a.severity), a.first_us, a.rule,
                                   json.dumps(a.key, sort_keys=True, default=str)))
    return out
