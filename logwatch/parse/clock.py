"""Turn header timestamps into UTC instants: the year of year-less stamps, the zone, DST.

Why a module of its own: a syslog stamp such as `Dec 31 23:59:59` names no year and no
zone, and a wrong guess moves a burst of failures to another year or an hour away from
the lines it belongs with. Every choice made here is recorded (`ClockReport`) so that
`parse --stats` can say which years were inferred and from what.

Year rules, in order of preference (the caller picks the anchor):
- `--year Y`: Y is the year of the first line; each drop of more than half a year from
  one line to the next (December to January) starts the next year. A small step back
  (an NTP correction) is not a new year. A Feb 29 in a common year has no time (any
  year would be a guess): its rows are counted unreadable, with a warning.
- an upper bound: an instant the file's lines cannot be later than (a year-bearing
  line of the next file in rotation order, the gzip header's time, the file's
  modification time). Each line gets the latest year that keeps it at or before the
  bound (plus a day of slack for clock skew); Feb 29 the latest leap year. For files
  spanning less than a year this is the same as walking back from the last line; a
  file that spans more is detected (time jumps back by months) and reported.
Local times are converted with the source's zone. In the hour repeated when DST ends,
rows take the first (summer) offset until time steps back, then the second, so time
never runs backwards within a file. A source that starts in that hour (the next file of
a rotation, the lines a cron run finds appended) is told by a lower bound, an instant
its lines cannot be before (the previous file's modification time, the last line read
before): a time that the first offset puts more than a step before it, and the second
does not, takes the second. A time in the hour skipped when DST begins does not
exist: it is read with the offset before the change (Python's fold=0) and counted in a
warning, since a clock in that zone never writes one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.columns import distinct
from logwatch.parse.header import KIND_BSD, KIND_LOCAL, KIND_UTC, Header

__all__ = ["YearAnchor", "SourceClock", "ClockReport", "machine_zone", "known_zone"]

_US_PER_S = 1_000_000
_HOUR_US = 3_600 * _US_PER_S
#: The times a line of a mail log can have. A sender chooses the stamp rsyslog writes
#: (`logger` with a header of its own): one of year 1 or 9999 stopped `report` (pandas
#: holds 1677 to 2262), a few thousand far apart overflowed the rules' time axis, and
#: one before 1970 the join that lends Dovecot's usernames (Arrow's as-of join takes
#: times as unsigned).
_EARLIEST_US = 0
_LATEST_US = int(datetime(2200, 1, 1, tzinfo=timezone.utc).timestamp()) * _US_PER_S
_DAY_US = 24 * _HOUR_US
_HALF_YEAR_US = 183 * _DAY_US
_SLACK_US = _DAY_US
_DST_STEP_US = 60 * _US_PER_S


#: tzdata's names of UTC itself: no offset, no DST, so stamps need no conversion
UTC_ZONES = frozenset({"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal",
                       "Zulu", "Etc/Zulu", "GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "GMT+0",
                       "Etc/GMT+0", "GMT-0", "Etc/GMT-0", "Greenwich", "Etc/Greenwich"})


def known_zone(name: str) -> bool:
    """Whether `name` is an IANA zone this machine (and Arrow) can convert with."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    try:
        pc.assume_timezone(pa.array([0], pa.timestamp("s")), name)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _zone_of_file(path: str) -> str | None:
    target = os.path.realpath(path)
    if "zoneinfo/" in target:
        name = target.split("zoneinfo/", 1)[1]
        return name if known_zone(name) else None
    return None


def machine_zone() -> str:
    """The machine's IANA zone: $TZ (a name, or a file as in `:/etc/localtime`), then
    /etc/localtime's target, then /etc/timezone; UTC when none of them names a zone."""
    tz = os.environ.get("TZ", "").strip().lstrip(":")
    if tz:
        if tz.startswith("/"):
            found = _zone_of_file(tz)
            if found:
                return found
        elif known_zone(tz):
            return tz
    found = _zone_of_file("/etc/localtime")
    if found:
        return found
    try:
        name = Path("/etc/timezone").read_text().strip()
        if name and known_zone(name):
            return name
    except OSError:
        pass
    return "UTC"


@dataclass(frozen=True)
class YearAnchor:
    """Where the year of year-less stamps comes from (see the module docstring)."""

    source: str                 # e.g. "--year", "gzip header", "mtime of mail.log.1"
    year: int | None = None     # forward walking from this year
    upper_utc_us: int | None = None

    @classmethod
    def from_year(cls, year: int) -> YearAnchor:
        return cls("--year", year=year)

    @classmethod
    def upper(cls, when: float, source: str) -> YearAnchor:
        return cls(source, upper_utc_us=int(when * _US_PER_S))


@dataclass
class ClockReport:
    """What the clock decided for one source, for `parse --stats`."""

    zone: str
    anchor: str | None = None
    years: set[int] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    #: rows counted per kind of doubt, and where in `warnings` their warning is
    _tallies: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)

    def tally(self, kind: str, rows: int, say: Callable[[int], str]) -> None:
        """Count `rows` more rows of one kind of doubt: a source has one warning per
        kind, saying how many rows in all (they come block by block)."""
        at, total = self._tallies.get(kind, (len(self.warnings), 0))
        total += rows
        if at == len(self.warnings):
            self.warnings.append("")
        self.warnings[at] = say(total)
        self._tallies[kind] = (at, total)

    def as_dict(self) -> dict[str, object]:
        return {"zone": self.zone, "year_from": self.anchor, "years": sorted(self.years),
                "warnings": self.warnings}


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y.astype(np.int64) - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m.astype(np.int64) + 9) % 12
    doy = (153 * mp + 2) // 5 + d.astype(np.int64) - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _is_leap(y: np.ndarray) -> np.ndarray:
    return ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)


def _leap_at_or_before(y: np.ndarray) -> np.ndarray:
    """The latest leap year that is not after each year."""
    four = y - y % 4
    return np.where(_is_leap(four), four, four - 4)   # 2100 is not one: 2096


def _naive_us(year: np.ndarray, month: np.ndarray, day: np.ndarray, sod: np.ndarray,
              frac: np.ndarray) -> np.ndarray:
    days = _days_from_civil(year, month, day)
    return days * _DAY_US + sod.astype(np.int64) * _US_PER_S + frac.astype(np.int64)


def _valid_date(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    mdays = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[month]
    return (day <= mdays) & ~((month == 2) & (day == 29) & ~_is_leap(year))


class SourceClock:
    """Converts header times of one source to UTC, block after block, keeping its state."""

    def __init__(self, zone: str, anchor: YearAnchor | None,
                 after: float | None = None) -> None:
        """`after`: an instant (epoch seconds) the source's lines cannot be before, when
        one is known (see the module docstring): it tells the second pass of a repeated
        hour from the first when the source starts in it."""
        self.zone = zone
        self.anchor = anchor
        # less a step: a clock stepped back a little (NTP) is not the DST change
        self._floor_us = None if after is None else int(after * _US_PER_S) - _DST_STEP_US
        self.report = ClockReport(zone, anchor.source if anchor else None)
        self._year = anchor.year if anchor else None
        self._prev_bsd: int | None = None      # previous year-less row, as µs in a leap year
        self._prev_naive: int | None = None
        self._fold_day: int | None = None
        self._fold_max: int = 0
        self._fold_second = False
        self._warned_span = False

    def next_file(self) -> SourceClock:
        """This clock, going on into the next file of its rotation set (`--year`): the
        year and the DST state walk on, the report starts afresh, so that `--stats` says
        each file's own years and warnings, not those of the files before it."""
        self.report = ClockReport(self.zone, self.report.anchor)
        self._warned_span = False
        return self

    # -- years --------------------------------------------------------------------
    def _years_forward(self, month: np.ndarray, day: np.ndarray, sod: np.ndarray) -> np.ndarray:
        assert self._year is not None
        pos = _naive_us(np.full(len(month), 2000), month, day, sod, np.zeros(len(month)))
        prev = np.empty_like(pos)
        prev[0] = self._prev_bsd if self._prev_bsd is not None else pos[0]
        prev[1:] = pos[:-1]
        # a drop of months is the next year; a jump forward that is, read in the year
        # before, a step back of less than a day is an NTP correction across midnight
        # on New Year's Eve (positions are in a leap year: 366 days)
        back = pos - prev - 366 * _DAY_US
        change = (pos < prev - _HALF_YEAR_US).astype(np.int64) - ((back < 0) & (back > -_DAY_US))
        years = self._year + np.cumsum(change)
        self._year = int(years[-1])
        self._prev_bsd = int(pos[-1])
        return years

    def _years_upper(self, month: np.ndarray, day: np.ndarray, sod: np.ndarray,
                     frac: np.ndarray) -> np.ndarray:
        assert self.anchor is not None and self.anchor.upper_utc_us is not None
        # The bound is an instant; compare in local time, so shift it into the zone.
        bound = self.anchor.upper_utc_us + self._zone_offset_us(self.anchor.upper_utc_us)
        bound += _SLACK_US
        base = datetime.fromtimestamp(bound / _US_PER_S, tz=timezone.utc).year
        # Decided once per calendar day (at most 366 of them): the latest candidate year
        # whose day does not start after the bound; only the bound's own day compares
        # the time of day too.
        m = np.repeat(np.arange(1, 13), 31)
        d = np.tile(np.arange(1, 32), 12)
        table = np.full((13, 32), base - 1, dtype=np.int64)
        on_bound_day = np.zeros((13, 32), bool)
        chosen = np.zeros(len(m), bool)
        zeros = np.zeros(len(m), np.int64)
        for cand in (base + 1, base, base - 1):
            c = np.full(len(m), cand)
            ok = _valid_date(c, m, d)
            start = np.where(ok, _naive_us(c, m, np.where(ok, d, 1), zeros, zeros), 0)
            take = ~chosen & ok & (start <= bound)
            table[m[take], d[take]] = cand
            on_bound_day[m[take], d[take]] = start[take] + _DAY_US > bound
            chosen |= take
        years = table[month, day]
        edge = np.flatnonzero(on_bound_day[month, day])
        if len(edge):  # the bound's day: a time after the bound is a year earlier
            late = _naive_us(years[edge], month[edge], day[edge], sod[edge], frac[edge]) > bound
            years[edge[late]] -= 1
        # Feb 29 only in a leap year: the latest one that keeps it before the bound, which
        # may be years before the days around it (then the bound is likely later than
        # the file, a copy's time, and that is said)
        leap_day = np.flatnonzero((month == 2) & (day == 29))
        if len(leap_day):
            years[leap_day] = _leap_at_or_before(years[leap_day])
            early = int((years[leap_day] < table[2, 28]).sum())
            if early:
                source, leap = self.anchor.source, int(years[leap_day].min())
                self.report.tally("leap day early", early, lambda n: (
                    f"lines dated Feb 29 put in {leap}, the latest leap year before the "
                    f"{source}, years before the days around them: {n:,}; give --year if "
                    "the file is from a leap year"))
        return years

    def _zone_offset_us(self, utc_us: int) -> int:
        if self.zone in UTC_ZONES:
            return 0
        from zoneinfo import ZoneInfo

        dt = datetime.fromtimestamp(utc_us / _US_PER_S, tz=ZoneInfo(self.zone))
        off = dt.utcoffset()
        return int(off.total_seconds() * _US_PER_S) if off else 0

    # -- zones and DST ------------------------------------------------------------
    def _readings(self, naive: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Each local time read with the first and with the second offset of its zone
        (they differ in the hour a DST change repeats), and how many do not exist (in
        the hour skipped when DST begins). Those are read with the offset before the
        change, as Python's fold=0 does (02:15 in Berlin on that day is 01:15Z), so
        that their rows keep their distance and order."""
        ts = pa.array(naive, pa.timestamp("us"))
        first = pc.assume_timezone(ts, self.zone, ambiguous="earliest", nonexistent="earliest")
        early = first.cast(pa.int64()).to_numpy()
        late = pc.assume_timezone(ts, self.zone, ambiguous="latest",
                                  nonexistent="latest").cast(pa.int64()).to_numpy()
        # Arrow reads a time in the gap as the last µs before the change or the first after
        gap = np.flatnonzero(late - early == 1)
        if len(gap):
            wall = pc.local_timestamp(first.take(pa.array(gap))).cast(pa.int64()).to_numpy()
            early, late = early.copy(), late.copy()
            early[gap] = late[gap] = naive[gap] - (wall - early[gap])
        return early, late, len(gap)

    def _localize(self, naive: np.ndarray) -> np.ndarray:
        if self.zone in UTC_ZONES or len(naive) == 0:
            return naive
        early, late, missing = self._readings(naive)
        if missing:
            self.report.tally("gap", missing, lambda n: (
                f"lines stamped in the hour skipped when DST begins in {self.zone} "
                f"(times that do not exist there): {n:,}, read with the offset before "
                "the change; a clock in that zone never writes them, so the zone is "
                "probably wrong (--tz)"))
        amb = np.flatnonzero(early != late)
        if len(amb) == 0:
            return early
        out = early.copy()
        vals = naive[amb]
        days = vals // _DAY_US
        for d in distinct(days):
            sel = amb[days == d]
            v = naive[sel]
            if self._fold_day != d:
                self._fold_day, self._fold_max, self._fold_second = int(d), int(v[0]), False
            runmax = np.maximum.accumulate(np.concatenate(([self._fold_max], v)))[:-1]
            back = v < runmax - _DST_STEP_US
            if self._floor_us is not None:  # only the second offset keeps it after the bound
                back |= (early[sel] < self._floor_us) & (late[sel] >= self._floor_us)
            second = np.logical_or.accumulate(back) | self._fold_second
            out[sel] = np.where(second, late[sel], early[sel])
            self._fold_max = int(max(self._fold_max, v.max()))
            self._fold_second = bool(second[-1])
        return out

    # -- the whole block ----------------------------------------------------------
    def to_utc(self, h: Header) -> tuple[np.ndarray, np.ndarray]:
        """Return (UTC µs since the epoch, valid mask) for every row of the block; a time
        before 1970 or from 2200 on is none."""
        n = len(h.kind)
        utc = np.zeros(n, np.int64)
        valid = np.zeros(n, bool)
        is_utc = h.kind == KIND_UTC
        utc[is_utc] = h.utc_us[is_utc]
        valid |= is_utc
        naive, local_mask = self._local_times(h)
        local = np.flatnonzero(local_mask)
        if len(local):
            seq = naive[local]
            self._check_span(seq)
            utc[local] = self._localize(seq)
            valid[local] = True
        valid &= (utc >= _EARLIEST_US) & (utc < _LATEST_US)
        return utc, valid

    def in_repeated_hour(self, h: Header) -> np.ndarray:
        """The rows whose local time is in an hour that a DST change repeats (in part or
        whole). A reader starting in one cannot tell its first pass from its second, so
        a file read in parallel is never cut there (`parallel`); stamps with a zone, and
        stamps in UTC, need no such care. Years of year-less stamps come as `to_utc`
        would give them (call it on a clock of its own: it moves the year state)."""
        naive, local_mask = self._local_times(h)
        out = np.zeros(len(h.kind), bool)
        if self.zone in UTC_ZONES:
            return out
        rows = np.flatnonzero(local_mask)
        start = naive[rows] - naive[rows] % _HOUR_US
        for at in (start, start + _HOUR_US - 60 * _US_PER_S):   # its first and last minute
            early, late, _ = self._readings(at)
            out[rows] |= early != late
        return out

    def _local_times(self, h: Header) -> tuple[np.ndarray, np.ndarray]:
        """Naive local µs of every row that has a local time, and the mask of those rows
        (year-less stamps get their year here; a date that does not exist in it has
        none)."""
        bsd = np.flatnonzero(h.kind == KIND_BSD)
        naive = h.naive_us.copy()
        local_mask = h.kind == KIND_LOCAL
        if len(bsd):
            month, day = h.month[bsd].astype(np.int64), h.day[bsd].astype(np.int64)
            sod, frac = h.sod[bsd], h.frac_us[bsd]
            if self._year is not None:
                years = self._years_forward(month, day, sod)
            elif self.anchor is not None and self.anchor.upper_utc_us is not None:
                years = self._years_upper(month, day, sod, frac)
            else:  # no anchor at all: the caller should have given one
                years = np.full(len(bsd), datetime.now(timezone.utc).year)
            ok = _valid_date(years, month, day)
            if not ok.all():
                self._no_leap_day(years[~ok & (month == 2) & (day == 29)])
            naive[bsd] = np.where(ok, _naive_us(years, month, np.where(ok, day, 1), sod, frac),
                                  0)
            local_mask = local_mask.copy()
            local_mask[bsd[ok]] = True
            self.report.years.update(int(y) for y in distinct(years[ok]))
        return naive, local_mask

    def _no_leap_day(self, years: np.ndarray) -> None:
        """Feb 29 in the common years `--year` walked to: no year would be more than a
        guess (the file's first line is likely from another year than the one given),
        so the rows are counted unreadable, and said."""
        if len(years):
            named = ", ".join(str(y) for y in distinct(years))
            self.report.tally("no leap day", len(years), lambda n: (
                f"lines dated Feb 29 in {named}, which has none: {n:,}, counted "
                "unreadable (is --year the year of the file's first line?)"))

    def _check_span(self, naive: np.ndarray) -> None:
        prev = np.concatenate(([self._prev_naive if self._prev_naive is not None
                                else naive[0]], naive[:-1]))
        if not self._warned_span and np.any(naive < prev - _HALF_YEAR_US):
            self._warned_span = True
            self.report.warnings.append(
                "time jumps back by more than half a year: the file spans more than a "
                "year or mixes logs; years before that point may be one too high "
                "(give --year)")
        self._prev_naive = int(naive[-1])
