"""Split each line into its timestamp, host, syslog tag and message, per format, vectorized.

Each format has a fast path built from fixed-width slices, `find_substring` and per-row
substrings (no regex over the whole line: a capture spanning the message costs about
eight times a header-only match). Rows the fast path cannot read go through one RE2
fallback that knows every format, so a file that changes format half-way (an rsyslog
template edited on a live server) or a stray unpadded `Aug 3` day is still read.

Timestamps are returned as numbers, not yet as instants: year-less stamps need the year
inference and local times need the zone (see `clock`), both of which depend on the order
of rows and on state carried across blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from logwatch.parse.formats import Format
from logwatch.parse.slicing import strings_at, substrings, value_offsets

__all__ = ["Header", "split_header", "KIND_NONE", "KIND_BSD", "KIND_LOCAL", "KIND_UTC",
           "parse_tags"]

KIND_NONE, KIND_BSD, KIND_LOCAL, KIND_UTC = 0, 1, 2, 3

_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_HEAD_MAX = 320  # bytes of a line in which the host and tag must be found
_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)


@dataclass
class Header:
    """Per-row header fields of one block (all arrays have the block's length).

    `kind` says which time column holds the row's time: KIND_BSD rows have month, day,
    seconds of day and microseconds (year and zone to infer); KIND_LOCAL rows a naive
    local time in `naive_us`; KIND_UTC rows an instant in `utc_us`; KIND_NONE rows no
    readable header at all.
    """

    kind: np.ndarray
    month: np.ndarray
    day: np.ndarray
    sod: np.ndarray
    frac_us: np.ndarray
    naive_us: np.ndarray
    utc_us: np.ndarray
    host: pa.Array
    tag: pa.Array
    msg_start: np.ndarray   # byte offset of the message within its line
    lines: pa.Array

    @classmethod
    def empty(cls, lines: pa.Array) -> Header:
        n = len(lines)
        return cls(
            kind=np.zeros(n, np.int8), month=np.zeros(n, np.int8), day=np.zeros(n, np.int8),
            sod=np.zeros(n, np.int32), frac_us=np.zeros(n, np.int32),
            naive_us=np.zeros(n, np.int64), utc_us=np.zeros(n, np.int64),
            host=pa.nulls(n, pa.string()), tag=pa.nulls(n, pa.string()),
            msg_start=np.zeros(n, np.int64), lines=lines)

    def messages(self, rows: np.ndarray | None = None, skip: np.ndarray | int = 0,
                 limit: int | None = None) -> pa.Array:
        """The messages of `rows` (all rows by default), `skip` more bytes in.

        Messages are cut from the lines' buffer only when asked for, in one copy:
        copying the text of a block is the largest cost after the regexes.
        """
        offs = value_offsets(self.lines)
        data_buf = self.lines.buffers()[2]
        if rows is None:
            begin, end, start = offs[:-1], offs[1:], self.msg_start
        else:
            begin, end, start = offs[:-1][rows], offs[1:][rows], self.msg_start[rows]
        if data_buf is None or len(begin) == 0:
            return pa.array([""] * len(begin), pa.string())
        length = end - begin
        start = np.minimum(start + skip, length)
        take = length - start
        if limit is not None:
            take = np.minimum(take, limit)
        return strings_at(data_buf, begin + start, take)


# --- timestamps, parsed once per distinct value ------------------------------------

_BSD_RX = re.compile(r"^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?$")


def _bsd_parts(stamp: str) -> tuple[int, int, int, int] | None:
    m = _BSD_RX.match(stamp)
    if not m or m.group(1) not in _MONTHS:
        return None
    day, hh, mi, ss = int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5))
    if not (1 <= day <= 31 and hh < 24 and mi < 60 and ss < 61):
        return None
    frac = int((m.group(6) or "0").ljust(6, "0"))
    return _MONTHS[m.group(1)], day, hh * 3600 + mi * 60 + min(ss, 59), frac


def _iso_us(stamp: str) -> tuple[int, bool] | None:
    """Microseconds since the epoch of an ISO stamp `YYYY-MM-DD[ T]HH:MM:SS[.f][zone]`,
    and whether it carried a zone (then the instant; else the naive local time)."""
    try:
        dt = datetime.fromisoformat(stamp.upper().replace(" ", "T", 1))
    except ValueError:
        return None
    zoned = dt.tzinfo is not None
    if zoned:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return (dt - _EPOCH) // _US, zoned



def _by_distinct(values: pa.Array, fn):  # type: ignore[no-untyped-def]
    """Apply `fn` to each distinct value; return (results per distinct, index per row)."""
    enc = pc.dictionary_encode(values)
    results = [fn(v) for v in enc.dictionary.to_pylist()]
    idx = enc.indices.to_numpy(zero_copy_only=False)
    return results, idx


def _fill_bsd(h: Header, rows: np.ndarray, stamps: pa.Array) -> np.ndarray:
    """Parse year-less stamps for `rows`; return the mask (over `rows`) of those parsed."""
    results, idx = _by_distinct(stamps, lambda s: _bsd_parts(s) if s is not None else None)
    table = np.array([r if r is not None else (0, 0, -1, 0) for r in results],
                     dtype=np.int64).reshape(-1, 4)
    parts = table[idx]
    ok = parts[:, 2] >= 0
    r = rows[ok]
    h.kind[r] = KIND_BSD
    h.month[r] = parts[ok, 0]
    h.day[r] = parts[ok, 1]
    h.sod[r] = parts[ok, 2]
    h.frac_us[r] = parts[ok, 3]
    return ok


def _fill_iso(h: Header, rows: np.ndarray, stamps: pa.Array, zoned: bool) -> np.ndarray:
    """Parse ISO stamps for `rows`: instants where they carry a zone, naive local times
    where they do not (`zoned`: most are expected to; a stamp without one in an RFC 3339
    file is the site's local time, as in any other file, not UTC)."""
    if zoned:
        # Arrow's own ISO 8601 parser handles fractions and +hh:mm / +hhmm / Z zones
        # (RFC 3339's rare `t` and `z`, one by one below)
        try:
            ts = pc.cast(stamps, pa.timestamp("us", tz="UTC"))
        except pa.ArrowInvalid:
            pass   # some stamps lack a zone, or are no stamps: one by one below
        else:
            valid = ts.is_valid().to_numpy(zero_copy_only=False)
            us = ts.cast(pa.int64()).fill_null(0).to_numpy()
            h.kind[rows[valid]] = KIND_UTC
            h.utc_us[rows[valid]] = us[valid]
            return valid
    results, idx = _by_distinct(stamps, lambda s: _iso_us(s) if s else None)
    table = np.array([(r[0], r[1]) if r is not None else (0, -1) for r in results],
                     dtype=np.int64).reshape(-1, 2)[idx]
    vals, kind = table[:, 0], table[:, 1]
    for mask, code, column in ((kind == 1, KIND_UTC, h.utc_us),
                               (kind == 0, KIND_LOCAL, h.naive_us)):
        h.kind[rows[mask]] = code
        column[rows[mask]] = vals[mask]
    return kind >= 0


# --- host, tag and message ------------------------------------------------------------

def _lengths(arr: pa.Array) -> np.ndarray:
    return pc.binary_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)


def _find(arr: pa.Array, needle: str) -> np.ndarray:
    return pc.find_substring(arr, needle).to_numpy(zero_copy_only=False).astype(np.int64)


_HOST_MAX = 64


def _bytes_at(lines: pa.Array, start: np.ndarray) -> np.ndarray:
    """Each row's byte at `start` (0 past its end)."""
    data_buf = lines.buffers()[2]
    if data_buf is None or len(data_buf) == 0:
        return np.zeros(len(lines), np.uint8)
    offs = value_offsets(lines)
    at = offs[:-1] + start
    inside = at < offs[1:]
    data = np.frombuffer(data_buf, np.uint8)
    return np.where(inside, data[np.minimum(at, len(data) - 1)], 0).astype(np.uint8)


def _host_tag(lines: pa.Array, start: np.ndarray) -> tuple[pa.Array, pa.Array, np.ndarray,
                                                           np.ndarray]:
    """From byte `start` of each line read `host SP tag: msg`.

    Returns host, tag (null where the line has none, as in `last message repeated`), the
    message's start, and the mask of rows that had a host. Only short pieces are copied:
    the first `: ` of a syslog line ends its tag (a stamp's colons are followed by
    digits), so it is found on the whole line without slicing it.
    """
    total = _lengths(lines)
    # FreeBSD's `syslogd -v` puts the facility and level before the host: skip them
    # (told by the byte at `start`, read from the buffer rather than cut for each row)
    pri = np.flatnonzero(_bytes_at(lines, start) == ord("<"))
    if len(pri):
        sub = substrings(pc.take(lines, pa.array(pri)), start[pri],
                         np.minimum(np.maximum(total[pri] - start[pri], 0), 24))
        hit = pc.match_substring_regex(sub, r"^<[a-z0-9]+\.[a-z]+> ").to_numpy(
            zero_copy_only=False)
        start = start.copy()
        start[pri[hit]] += _find(pc.filter(sub, pa.array(hit)), "> ") + 2
    avail = np.maximum(total - start, 0)
    head = substrings(lines, start, np.minimum(avail, _HOST_MAX))
    sp = _find(head, " ")
    host_len = np.where(sp >= 0, sp, np.minimum(avail, _HOST_MAX))
    has_host = (host_len > 0) & ((sp >= 0) | (avail <= _HOST_MAX))
    host = substrings(lines, start, host_len)
    after = start + host_len + 1
    colon = _find(lines, ": ")
    ends_colon = pc.ends_with(lines, ":").to_numpy(zero_copy_only=False)
    colon = np.where((colon < 0) & ends_colon, total - 1, colon)
    tag_len = colon - after
    tag_ok = (sp > 0) & (tag_len > 0) & (tag_len <= 96)
    tag = substrings(lines, after, np.where(tag_ok, tag_len, 0))
    tag_ok &= _find(tag, " ") < 0
    msg_start = np.where(tag_ok, colon + 2, np.minimum(after, total))
    tag = pc.if_else(pa.array(tag_ok), tag, pa.scalar(None, pa.string()))
    return host, tag, np.minimum(msg_start, total), has_host


# --- the per-format fast paths ---------------------------------------------------------

_MONTH_KEYS = np.array(sorted((ord(m[0]) << 16) | (ord(m[1]) << 8) | ord(m[2])
                              for m in _MONTHS), dtype=np.int64)
_MONTH_OF_KEY = np.array([_MONTHS[chr(k >> 16) + chr((k >> 8) & 255) + chr(k & 255)]
                          for k in _MONTH_KEYS], dtype=np.int8)


def _fixed_bsd(lines: pa.Array, h: Header) -> np.ndarray:
    """Read `Mmm dd HH:MM:SS ` at the start of every line, once per distinct stamp.

    A day of logs has at most 86,400 distinct stamps; each is read with NumPy arithmetic
    on its 16 bytes. Anything else (an unpadded day, a fraction) is left to the fallback.
    """
    n = len(lines)
    enc = pc.dictionary_encode(pc.utf8_slice_codeunits(lines, 0, 16))
    uniq = enc.dictionary
    k = len(uniq)
    offs = value_offsets(uniq)
    data_buf = uniq.buffers()[2]
    if k == 0 or data_buf is None or len(data_buf) == 0:
        return np.zeros(n, bool)
    # padded, so that short or empty distinct stamps can be read as 16 bytes too
    data = np.concatenate((np.frombuffer(data_buf, np.uint8), np.zeros(16, np.uint8)))
    lengths = offs[1:] - offs[:-1]
    b = data[offs[:-1, None] + np.arange(16)].astype(np.int32)
    digit = (b >= 48) & (b <= 57)
    val = b - 48
    key = ((b[:, 0] << 16) | (b[:, 1] << 8) | b[:, 2]).astype(np.int64)
    pos = np.minimum(np.searchsorted(_MONTH_KEYS, key), len(_MONTH_KEYS) - 1)
    ok = ((lengths == 16) & (_MONTH_KEYS[pos] == key) & (b[:, 3] == 32)
          & ((b[:, 4] == 32) | digit[:, 4]) & digit[:, 5] & (b[:, 6] == 32) & digit[:, 7]
          & digit[:, 8] & (b[:, 9] == 58) & digit[:, 10] & digit[:, 11] & (b[:, 12] == 58)
          & digit[:, 13] & digit[:, 14] & (b[:, 15] == 32))
    day = np.where(b[:, 4] == 32, 0, val[:, 4]) * 10 + val[:, 5]
    hh = val[:, 7] * 10 + val[:, 8]
    mi = val[:, 10] * 10 + val[:, 11]
    ss = val[:, 13] * 10 + val[:, 14]
    ok &= (day >= 1) & (day <= 31) & (hh < 24) & (mi < 60) & (ss < 61)
    sod = hh * 3600 + mi * 60 + np.minimum(ss, 59)
    codes = enc.indices.to_numpy(zero_copy_only=False)
    row_ok = ok[codes]
    h.kind[row_ok] = KIND_BSD
    h.month[row_ok] = _MONTH_OF_KEY[pos[codes[row_ok]]]
    h.day[row_ok] = day[codes[row_ok]]
    h.sod[row_ok] = sod[codes[row_ok]]
    return row_ok


def _fast_bsd(lines: pa.Array, h: Header) -> np.ndarray:
    n = len(lines)
    ok = _fixed_bsd(lines, h)
    h.kind[~ok] = KIND_NONE
    h.host, h.tag, h.msg_start, has_host = _host_tag(lines, np.full(n, 16, np.int64))
    return ok & has_host


def _fast_zoned(lines: pa.Array, h: Header) -> np.ndarray:
    n = len(lines)
    sp = _find(pc.utf8_slice_codeunits(lines, 0, 40), " ")
    # `2026-07-01 10:00:02 host` (another syslog's line in the file) is no stamp up to
    # its first blank: it is left to the fallback, which reads it whole
    dated = np.isin(_bytes_at(lines, np.full(n, 10, np.int64)), (ord("T"), ord("t")))
    stamps = substrings(lines, np.zeros(n, np.int64), np.maximum(sp, 0))
    ok = _fill_iso(h, np.arange(n), stamps, zoned=True) & (sp > 0) & dated
    h.host, h.tag, h.msg_start, has_host = _host_tag(lines, sp + 1)
    return ok & has_host


def _fast_iso_syslog(lines: pa.Array, h: Header) -> np.ndarray:
    n = len(lines)
    stamps = pc.utf8_slice_codeunits(lines, 0, 19)
    sep = pc.equal(pc.utf8_slice_codeunits(lines, 19, 20), " ").to_numpy(zero_copy_only=False)
    ok = _fill_iso(h, np.arange(n), stamps, zoned=False) & sep
    h.host, h.tag, h.msg_start, has_host = _host_tag(lines, np.full(n, 20, np.int64))
    return ok & has_host & pc.is_valid(h.tag).to_numpy(zero_copy_only=False)


# Exim's own log: `2024-01-02 03:04:05[.mmm][ +hhmm][ [pid]] ...`
_EXIM_NATIVE = (r"^(?P<hdr>(?P<iso>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{3})?)"
                r"(?: (?P<zone>[-+]\d{4}))?(?: \[(?P<pid>\d+)(?:/\d+)?\])? ?)")


def _fast_exim(lines: pa.Array, h: Header) -> np.ndarray:
    n = len(lines)
    head = pc.utf8_slice_codeunits(lines, 0, 48)
    m = pc.extract_regex(head, _EXIM_NATIVE)
    ok = pc.is_valid(m).to_numpy(zero_copy_only=False)
    ts = m.field("iso")
    tz = m.field("zone")
    zoned = pc.fill_null(pc.not_equal(tz, ""), False).to_numpy(zero_copy_only=False)
    rows = np.arange(n)
    ok_l = np.zeros(n, bool)
    for flag, is_zoned in ((zoned & ok, True), (~zoned & ok, False)):
        sel = np.flatnonzero(flag)
        if len(sel) == 0:
            continue
        sel_ts = pc.take(ts, pa.array(sel))
        if is_zoned:
            sel_ts = pc.binary_join_element_wise(
                pc.replace_substring(sel_ts, " ", "T", max_replacements=1),
                pc.take(tz, pa.array(sel)), "")
        ok_l[sel] = _fill_iso(h, rows[sel], sel_ts, zoned=is_zoned)
    h.msg_start = _lengths(pc.fill_null(m.field("hdr"), ""))
    pid = m.field("pid")
    h.tag = pc.if_else(pc.fill_null(pc.not_equal(pid, ""), False),
                       pc.binary_join_element_wise("exim[", pid, "]", ""),
                       pa.scalar("exim"))
    h.host = pa.nulls(n, pa.string())
    # A syslog line with an ISO stamp (`2019-10-22 03:39:17 mx1 exim[29786]: ...`) also
    # starts like Exim's own log; leave it to the fallback, which reads its host and tag.
    syslog_like = pc.match_substring_regex(h.messages(limit=_HEAD_MAX),
                                           r"^[^ \[\]]+ [^ :\[\]]+\[\d+\]: ")
    return ok & ok_l & ~syslog_like.to_numpy(zero_copy_only=False)


def _fast_dovecot(lines: pa.Array, h: Header) -> np.ndarray:
    """Dovecot's own log: a year-less or an ISO stamp, then the process's message; every
    line is Dovecot's (its program), none names a host."""
    n = len(lines)
    ok = _fixed_bsd(lines, h)
    start = np.where(ok, 16, 20).astype(np.int64)
    iso = np.flatnonzero(~ok)
    if len(iso):
        sub = pc.take(lines, pa.array(iso))
        sep = pc.equal(pc.utf8_slice_codeunits(sub, 19, 20), " ").to_numpy(
            zero_copy_only=False)
        ok[iso] = _fill_iso(h, iso, pc.utf8_slice_codeunits(sub, 0, 19), zoned=False) & sep
    h.msg_start = start
    h.host = pa.nulls(n, pa.string())
    h.tag = pa.repeat(pa.scalar("dovecot"), n)
    return ok


# RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD [MSG]; SD is `-` or [..][..]
_RFC5424 = (r'^(?P<hdr><\d{1,3}>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) '
            r'\S+ (?:-|(?:\[(?:[^\]"\\]|\\.|"(?:[^"\\]|\\.)*")*\])+)(?: (?:\x{FEFF})?|$))')


def _fast_rfc5424(lines: pa.Array, h: Header) -> np.ndarray:
    n = len(lines)
    m = pc.extract_regex(pc.utf8_slice_codeunits(lines, 0, 2048), _RFC5424)
    ok = pc.is_valid(m).to_numpy(zero_copy_only=False)
    ts = pc.fill_null(m.field("ts"), "")
    ok &= _fill_iso(h, np.arange(n), ts, zoned=True)
    start = _lengths(pc.fill_null(m.field("hdr"), ""))
    # rsyslog's RSYSLOG_SyslogProtocol23Format writes its MSG property, which keeps the
    # space that followed the tag: `- -  connect from ...`
    lead = substrings(lines, start, np.ones(n, np.int64))
    h.msg_start = start + pc.equal(lead, " ").to_numpy(zero_copy_only=False)
    h.host = pc.fill_null(m.field("host"), "")
    app = pc.fill_null(m.field("app"), "")
    procid = pc.fill_null(m.field("procid"), "-")
    h.tag = pc.if_else(pc.equal(procid, "-"), app,
                       pc.binary_join_element_wise(app, "[", procid, "]", ""))
    return ok


# The fallback: every shape we know, tried in turn on rows the file's fast path did not
# read. Groups: hdr (the whole header), bsd | iso [zone], host, tag, pid.
_FALLBACKS: tuple[str, ...] = (
    # syslog with a year-less stamp; the tag is optional (`last message repeated 3 times`)
    r"^(?P<hdr>(?P<bsd>[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.\d{1,6})?)(?: \d{4})?"
    r"(?: <[a-z0-9]+\.[a-z]+>)? (?P<host>[^ ]+)(?: (?P<tag>[^ :\[\]]+(?:\[\d+\])?):)?(?: |$))",
    # syslog with an ISO stamp (RFC 3339, or `2019-10-22 03:39:17 host prog[pid]: `)
    r"^(?P<hdr>(?P<iso>\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d+)?)(?P<zone>[Zz]|[+-]\d\d:?\d\d)?"
    r" (?P<host>[^ \[\]]+) (?P<tag>[^ :\[\]]+(?:\[\d+\])?):(?: |$))",
    _EXIM_NATIVE,
    # journald's text without a time (`host exim[1]: 2021-07-17 23:20:49 ...`): the
    # message carries Exim's own stamp, which becomes the row's time.
    r"^(?P<hdr>(?P<host>[^ \[\]:]+) (?P<tag>[^ :\[\]]+(?:\[\d+\])?): )"
    r"(?P<iso>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ",
)
# In a syslog file with ISO stamps, a line without a tag (`-- MARK --`) is syslog's own,
# not Exim's: read it so before Exim's shape gets a chance.
_ISO_UNTAGGED = (r"^(?P<hdr>(?P<iso>\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d+)?)"
                 r"(?P<zone>[Zz]|[+-]\d\d:?\d\d)? (?P<host>[^ \[\]]+)(?: |$))")
_SYSLOG_FIRST = ("iso_syslog", "rfc3339", "rfc5424")


def _group(m: pa.StructArray, name: str) -> pa.Array:
    names = [m.type.field(i).name for i in range(m.type.num_fields)]
    if name in names:
        return pc.fill_null(m.field(name), "")
    return pa.array([""] * len(m), pa.string())


def _fallback(lines: pa.Array, rows: np.ndarray, h: Header, host: list, tag: list,
              fmt: Format | None) -> np.ndarray:
    """Read `rows` with the fallback regexes; return the mask (over rows) now read."""
    done = np.zeros(len(rows), bool)
    order = _FALLBACKS
    if fmt in _SYSLOG_FIRST:
        order = (*_FALLBACKS[:2], _ISO_UNTAGGED, *_FALLBACKS[2:])
    for rx in order:
        todo = np.flatnonzero(~done)
        if not len(todo):
            break
        sub = pc.take(lines, pa.array(rows[todo]))
        m = pc.extract_regex(pc.utf8_slice_codeunits(sub, 0, _HEAD_MAX), rx)
        valid = pc.is_valid(m).to_numpy(zero_copy_only=False)
        if not valid.any():
            continue
        bsd, iso, zone = _group(m, "bsd"), _group(m, "iso"), _group(m, "zone")
        is_bsd = pc.not_equal(bsd, "").to_numpy(zero_copy_only=False) & valid
        is_zoned = pc.not_equal(zone, "").to_numpy(zero_copy_only=False) & valid & ~is_bsd
        is_local = valid & ~is_bsd & ~is_zoned
        got = np.zeros(len(todo), bool)
        for mask, kind in ((is_bsd, "bsd"), (is_zoned, "zoned"), (is_local, "local")):
            sel = np.flatnonzero(mask)
            if not len(sel):
                continue
            target = rows[todo[sel]]
            if kind == "bsd":
                got[sel] = _fill_bsd(h, target, pc.take(bsd, pa.array(sel)))
                continue
            stamp = pc.take(iso, pa.array(sel))
            if kind == "zoned":
                stamp = pc.binary_join_element_wise(
                    pc.replace_substring(stamp, " ", "T", max_replacements=1),
                    pc.take(zone, pa.array(sel)), "")
            got[sel] = _fill_iso(h, target, stamp, zoned=kind == "zoned")
        if rx is _EXIM_NATIVE:  # Exim's own log names no program: it is Exim's
            pid = _group(m, "pid")
            tags = pc.if_else(pc.equal(pid, ""), pa.scalar("exim"),
                              pc.binary_join_element_wise("exim[", pid, "]", ""))
        else:
            tags = _group(m, "tag")
        _collect(_group(m, "hdr"), _group(m, "host"), tags, got, h, host, tag, rows[todo])
        done[todo] |= got
    return done


def _collect(hdr: pa.Array, hosts: pa.Array, tags: pa.Array, got: np.ndarray, h: Header,
             host: list, tag: list, rows: np.ndarray) -> None:
    """Record the fields of the rows a fallback just read (host and tag for scattering)."""
    sel = np.flatnonzero(got)
    if not len(sel):
        return
    take = pa.array(sel)
    h.msg_start[rows[sel]] = _lengths(pc.take(hdr, take))
    null = pa.scalar(None, pa.string())
    hs = pc.take(hosts, take)
    host.append((rows[sel], pc.if_else(pc.equal(hs, ""), null, hs)))
    t = pc.take(tags, take)
    tag.append((rows[sel], pc.if_else(pc.equal(t, ""), null, t)))


def _scatter(base: pa.Array, pieces: list[tuple[np.ndarray, pa.Array]]) -> pa.Array:
    if not pieces:
        return base
    n = len(base)
    mask = np.zeros(n, bool)
    for rows, _ in pieces:
        mask[rows] = True
    order = np.concatenate([rows for rows, _ in pieces])
    values = pa.concat_arrays([v.cast(pa.string()) for _, v in pieces])
    # replace_with_mask consumes replacements in row order
    values = pc.take(values, pa.array(np.argsort(order, kind="stable")))
    return pc.replace_with_mask(base.cast(pa.string()), pa.array(mask), values)


_FAST = {
    "bsd": _fast_bsd,
    "rfc3339": _fast_zoned,
    "iso_syslog": _fast_iso_syslog,
    "exim": _fast_exim,
    "rfc5424": _fast_rfc5424,
    "dovecot": _fast_dovecot,
}


def split_header(lines: pa.Array, fmt: Format | None) -> tuple[Header, np.ndarray]:
    """Read the header of every line; return it and the mask of rows that had one."""
    n = len(lines)
    h = Header.empty(lines)
    fast = _FAST.get(fmt or "")
    ok = fast(lines, h) if fast else np.zeros(n, bool)
    h.kind[~ok] = KIND_NONE
    bad = np.flatnonzero(~ok)
    if len(bad):
        host: list = []
        tag: list = []
        got = _fallback(lines, bad, h, host, tag, fmt)
        ok[bad[got]] = True
        h.host = _scatter(h.host, host)
        h.tag = _scatter(h.tag, tag)
    h.kind[~ok] = KIND_NONE
    return h, ok


_TAG_RX = re.compile(r"^(?P<program>[^\[\]\s]+?)(?:\[(?P<pid>\d+)\])?$")


def parse_tags(tags: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Split syslog tags `program[pid]` into program and pid, once per distinct tag. A
    pid no process has (`logger` sends any tag) is none, and the line still its
    program's."""
    enc = pc.dictionary_encode(tags)
    programs: list[str | None] = []
    pids: list[int | None] = []
    for t in enc.dictionary.to_pylist():
        m = _TAG_RX.match(t) if t else None
        programs.append(m.group("program") if m else None)
        pid = int(m.group("pid")) if m and m.group("pid") else None
        pids.append(pid if pid is not None and pid < 2**31 else None)
    idx = enc.indices
    return (pc.take(pa.array(programs, pa.string()), idx),
            pc.take(pa.array(pids, pa.int32()), idx))
