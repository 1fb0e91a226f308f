"""Opening, probing and ordering inputs (`logwatch.sources`): real compressed files on disk,
real stdin through a subprocess, real rotation names."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import random
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pyarrow.compute as pc
import pytest
import zstandard

from logwatch.errors import SourceError
from logwatch.sources.opener import READ_ERRORS, open_source
from logwatch.sources.probe import FINGERPRINT_BYTES, PrefixedStream, probe_source
from logwatch.sources.rotation import missing_rotations, rotation_key, rotation_order
from tests.conftest import ROOT, parse_events

LOG = (
    b"Nov 29 12:32:30 mx1 postfix/smtpd[25450]: connect from unknown[192.0.2.10]\n"
    b"Nov 29 12:32:30 mx1 postfix/smtpd[25450]: 35545178314: client=unknown[192.0.2.10]\n"
    b"Nov 29 12:32:30 mx1 postfix/cleanup[25453]: 35545178314: "
    b"message-id=<20261129123230.025449@mx1.example.com>\n"
    b"Nov 29 12:32:30 mx1 postfix/qmgr[25444]: 35545178314: from=<alice@example.com>, "
    b"size=412, nrcpt=1 (queue active)\n"
    b"Nov 29 12:32:30 mx1 postfix/smtpd[25450]: disconnect from unknown[192.0.2.10] ehlo=1 "
    b"mail=1 rcpt=1 data=1 quit=1 commands=5\n"
    b"Nov 29 12:32:31 mx1 postfix/local[25455]: 35545178314: to=<bob@example.com>, "
    b"relay=local, delay=0.05, delays=0.03/0.01/0/0.01, dsn=2.0.0, status=sent "
    b"(delivered to mailbox)\n"
    b"Nov 29 12:32:31 mx1 postfix/qmgr[25444]: 35545178314: removed\n"
)

LINE_STARTS = [0] + [i + 1 for i, c in enumerate(LOG[:-1]) if c == 10]
GZIP_MTIME = 1_764_420_000  # 2025-11-29T12:40:00Z


def compress(kind: str, data: bytes) -> bytes:
    if kind == "gzip":
        return gzip.compress(data, mtime=GZIP_MTIME)
    if kind == "bzip2":
        return bz2.compress(data)
    if kind == "xz":
        return lzma.compress(data)
    if kind == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    assert kind == "plain"
    return data


SUFFIX = {"plain": "", "gzip": ".gz", "bzip2": ".bz2", "xz": ".xz", "zstd": ".zst"}
KINDS = list(SUFFIX)


def read_all(stream, n: int = 1000) -> bytes:  # type: ignore[no-untyped-def]
    out = b""
    while True:
        chunk = stream.read(n)
        if not chunk:
            return out
        out += chunk


def many_lines(n: int, seed: int = 7) -> bytes:
    """Realistic lines that do not compress to nothing (pids and ports vary)."""
    rnd = random.Random(seed)
    return b"".join(
        b"Nov 29 12:%02d:%02d mx1 postfix/smtpd[%d]: connect from unknown[192.0.2.%d]:%d\n"
        % (i // 60 % 60, i % 60, rnd.randrange(1000, 99999), rnd.randrange(1, 255),
           rnd.randrange(1024, 65535)) for i in range(n))


# --- open_source ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_open_source_decompresses_by_content(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"mail.log{SUFFIX[kind]}"
    path.write_bytes(compress(kind, LOG))
    opened = open_source(str(path))
    try:
        assert opened.name == str(path)
        assert opened.compression == (None if kind == "plain" else kind)
        assert opened.mtime == pytest.approx(os.stat(path).st_mtime)
        assert opened.gzip_mtime == (float(GZIP_MTIME) if kind == "gzip" else None)
        assert read_all(opened.stream) == LOG
    finally:
        opened.close()


@pytest.mark.parametrize("kind", ["gzip", "bzip2", "xz", "zstd"])
def test_compression_detected_whatever_the_name(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "mail.log"  # logrotate without compressext, or renamed by hand
    path.write_bytes(compress(kind, LOG))
    opened = open_source(str(path))
    try:
        assert opened.compression == kind
        assert read_all(opened.stream) == LOG
    finally:
        opened.close()


def test_plain_text_named_gz_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "mail.log.1.gz"
    path.write_bytes(LOG)
    opened = open_source(str(path))
    try:
        assert opened.compression is None
        assert opened.gzip_mtime is None
        assert read_all(opened.stream) == LOG
    finally:
        opened.close()


def test_gzip_header_without_mtime(tmp_path: Path) -> None:
    path = tmp_path / "mail.log.2.gz"
    path.write_bytes(gzip.compress(LOG, mtime=0))
    opened = open_source(str(path))
    try:
        assert opened.compression == "gzip"
        assert opened.gzip_mtime is None  # 0 means "no time stored"
    finally:
        opened.close()


def test_concatenated_gzip_members_and_zstd_frames(tmp_path: Path) -> None:
    a, b = LOG[:200], LOG[200:]
    gz = tmp_path / "multi.gz"
    gz.write_bytes(gzip.compress(a, mtime=GZIP_MTIME) + gzip.compress(b, mtime=1))
    zs = tmp_path / "multi.zst"
    c = zstandard.ZstdCompressor()
    zs.write_bytes(c.compress(a) + c.compress(b))
    for path in (gz, zs):
        opened = open_source(str(path))
        try:
            assert read_all(opened.stream) == LOG
        finally:
            opened.close()


@pytest.mark.parametrize(("make", "says"), [
    (lambda p: p, "No such file"),
    # a directory cannot be read as a log, even by root (a chmod 000 file can)
    (lambda p: p.mkdir(), "cannot open"),
], ids=["missing", "directory"])
def test_unopenable_path_is_a_source_error_naming_it(
        tmp_path: Path, make: Callable[[Path], object], says: str) -> None:
    target = tmp_path / "mail.log"
    make(target)
    with pytest.raises(SourceError) as info:
        open_source(str(target))
    assert str(target) in str(info.value)
    assert says in str(info.value)


def test_unreadable_and_missing_inputs_do_not_stop_the_others(tmp_path: Path) -> None:
    good = tmp_path / "mail.log"
    good.write_bytes(LOG)
    missing = tmp_path / "gone.log"
    directory = tmp_path / "adir"
    directory.mkdir()
    events, run = parse_events([missing, good, directory], year=2025, tz="UTC")
    assert len(run.errors) == 2
    assert any(str(missing) in e for e in run.errors)
    assert any(str(directory) in e for e in run.errors)
    assert set(events.column("source").to_pylist()) == {str(good)}
    assert events.num_rows == 7


def test_read_errors_cover_every_decompressor() -> None:
    assert EOFError in READ_ERRORS
    assert lzma.LZMAError in READ_ERRORS
    assert zstandard.ZstdError in READ_ERRORS
    assert OSError in READ_ERRORS  # gzip.BadGzipFile is one
    assert zlib.error in READ_ERRORS  # a corrupt deflate stream: not an OSError


# --- damaged archives -------------------------------------------------------------------

def test_truncated_gzip_is_a_read_error_naming_the_file(tmp_path: Path) -> None:
    data = many_lines(20_000)           # ~1.5 MB, far more than the probe's 64 KiB
    packed = gzip.compress(data, mtime=GZIP_MTIME)
    broken = tmp_path / "mail.log.2.gz"
    broken.write_bytes(packed[: len(packed) // 2])
    good = tmp_path / "mail.log.1"
    good.write_bytes(LOG)
    events, run = parse_events([good, broken], year=2025, tz="UTC")
    assert len(run.errors) == 1
    assert str(broken) in run.errors[0]
    assert "read error" in run.errors[0]
    by_source = {s.source: s for s in run.stats}
    assert by_source[str(good)].lines == 7
    good_rows = [r for r in events.column("source").to_pylist() if r == str(good)]
    assert len(good_rows) == 7
    for s in run.stats:
        assert s.unaccounted() == 0


def _damaged_head(kind: str) -> bytes:
    if kind == "gzip":   # truncated: ~23 KB of text, the damage inside the probe's head
        packed = gzip.compress(many_lines(300), mtime=GZIP_MTIME)
        return packed[: len(packed) // 2]
    packed = bytearray(bz2.compress(many_lines(300)))   # one bzip2 block, corrupted
    packed[len(packed) // 2:len(packed) // 2 + 64] = bytes(64)
    return bytes(packed)


@pytest.mark.parametrize("kind", ["gzip", "bzip2"])
def test_archive_damaged_in_its_head_does_not_stop_the_run(tmp_path: Path, kind: str) -> None:
    broken = tmp_path / f"mail.log.2{SUFFIX[kind]}"
    broken.write_bytes(_damaged_head(kind))
    good = tmp_path / "mail.log.1"
    good.write_bytes(LOG)
    events, run = parse_events([good, broken], year=2025, tz="UTC")
    assert any(str(broken) in e for e in run.errors)
    assert str(good) in set(events.column("source").to_pylist())


def test_truncated_gzip_keeps_what_precedes_the_damage(tmp_path: Path) -> None:
    data = many_lines(20_000)
    packed = gzip.compress(data, mtime=GZIP_MTIME)
    cut = packed[: len(packed) // 2]
    recoverable = zlib.decompressobj(wbits=31).decompress(cut).count(b"\n")
    assert recoverable > 5_000
    broken = tmp_path / "mail.log.gz"
    broken.write_bytes(cut)
    _, run = parse_events([broken], year=2025, tz="UTC")
    assert len(run.errors) == 1
    assert run.stats[0].lines >= recoverable * 0.9


@pytest.mark.parametrize("kind", ["gzip", "xz", "zstd"])
def test_truncated_archive_is_a_read_error(tmp_path: Path, kind: str) -> None:
    data = many_lines(20_000)
    packed = compress(kind, data)
    broken = tmp_path / f"mail.log.3{SUFFIX[kind]}"
    broken.write_bytes(packed[: len(packed) // 2])
    events, run = parse_events([broken], year=2025, tz="UTC", block_size=16 * 1024)
    assert len(run.errors) == 1 and str(broken) in run.errors[0], run.errors
    assert 0 < run.stats[0].lines < 20_000


def test_truncated_gzip_with_small_blocks_keeps_the_blocks_before(tmp_path: Path) -> None:
    data = many_lines(20_000)
    packed = gzip.compress(data, mtime=GZIP_MTIME)
    cut = packed[: len(packed) // 2]
    recoverable = zlib.decompressobj(wbits=31).decompress(cut).count(b"\n")
    broken = tmp_path / "mail.log.gz"
    broken.write_bytes(cut)
    events, run = parse_events([broken], year=2025, tz="UTC", block_size=16 * 1024)
    assert len(run.errors) == 1 and str(broken) in run.errors[0]
    assert recoverable * 0.9 <= run.stats[0].lines <= recoverable
    assert events.num_rows == run.stats[0].mail_lines
    assert run.stats[0].unaccounted() == 0


def test_corrupt_xz_and_zstd_are_read_errors(tmp_path: Path) -> None:
    data = many_lines(20_000)
    good = tmp_path / "mail.log"
    good.write_bytes(LOG)
    paths = []
    for kind in ("xz", "zstd"):
        packed = bytearray(compress(kind, data))
        mid = len(packed) // 2
        packed[mid:mid + 64] = bytes(64)  # damage in the middle
        p = tmp_path / f"damaged{SUFFIX[kind]}"
        p.write_bytes(bytes(packed))
        paths.append(p)
    events, run = parse_events([good, *paths], year=2025, tz="UTC", block_size=16 * 1024)
    for p in paths:
        assert any(str(p) in e for e in run.errors), run.errors
    assert events.filter(pc.equal(events["source"], str(good))).num_rows == 7


# --- probe_source -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_fingerprint_survives_compression(tmp_path: Path, kind: str) -> None:
    plain = tmp_path / "mail.log"
    plain.write_bytes(LOG)
    packed = tmp_path / f"mail.log.1{SUFFIX[kind]}"
    packed.write_bytes(compress(kind, LOG))
    a, b = probe_source(str(plain)), probe_source(str(packed))
    try:
        assert a.fingerprint == b.fingerprint
        assert len(a.fingerprint) == 16
        assert b.fmt == "bsd"
        assert read_all(b.stream) == LOG  # the head is put back in front
    finally:
        a.opened.close()
        b.opened.close()


def test_fingerprint_covers_only_the_first_4_kib(tmp_path: Path) -> None:
    head = many_lines(200)
    assert len(head) > FINGERPRINT_BYTES
    one, two, three = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    one.write_bytes(head)
    two.write_bytes(head + b"Nov 29 13:00:00 mx1 postfix/qmgr[1]: appended later\n")
    changed = bytearray(head)
    changed[100] ^= 1
    three.write_bytes(bytes(changed))
    fps = []
    for p in (one, two, three):
        pr = probe_source(str(p))
        fps.append(pr.fingerprint)
        pr.opened.close()
    assert fps[0] == fps[1]
    assert fps[0] != fps[2]


def test_probe_returns_every_byte_of_a_large_file(tmp_path: Path) -> None:
    data = many_lines(3000)  # > 64 KiB: the head is cut inside a line
    path = tmp_path / "mail.log.gz"
    path.write_bytes(gzip.compress(data))
    pr = probe_source(str(path))
    try:
        assert pr.fmt == "bsd"
        assert read_all(pr.stream, 5000) == data
    finally:
        pr.opened.close()


def test_probe_year_bearing_stamp(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    path.write_bytes(
        b"2025-11-29T12:32:30.087008+01:00 mx1 postfix/master[25439]: daemon started\n"
        b"2025-11-29T12:32:31.000000+01:00 mx1 postfix/smtpd[1]: connect from x[192.0.2.1]\n")
    pr = probe_source(str(path))
    pr.opened.close()
    assert pr.fmt == "rfc3339"
    assert pr.first_stamp == "2025-11-29T12:32:30.087008+01:00"
    assert pr.first_instant() == pytest.approx(1_764_415_950.087008)


def test_probe_bsd_file_has_no_year(tmp_path: Path) -> None:
    path = tmp_path / "mail.log"
    path.write_bytes(LOG)
    pr = probe_source(str(path))
    pr.opened.close()
    assert pr.first_stamp is None
    assert pr.first_instant() is None


def test_probe_unknown_content(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"shopping list\nmilk\n")
    pr = probe_source(str(path))
    pr.opened.close()
    assert pr.fmt is None


def test_probe_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="missing.log"):
        probe_source(str(tmp_path / "missing.log"))


class _Chunks:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, n: int = -1) -> bytes:
        out = self.data if n < 0 else self.data[:n]
        self.data = self.data[len(out):]
        return out


def test_prefixed_stream() -> None:
    s = PrefixedStream(b"head-", _Chunks(b"tail"))
    assert s.read(3) == b"hea"
    assert s.read(10) == b"d-"       # a short read: the rest of the head
    assert s.read(10) == b"tail"
    assert s.read(10) == b""
    s = PrefixedStream(b"head-", _Chunks(b"tail"))
    assert s.read() == b"head-tail"
    assert s.read() == b""


# --- every compression gives the same events -----------------------------------------------

def test_same_events_from_every_compression(tmp_path: Path) -> None:
    tables = {}
    for kind in KINDS:
        path = tmp_path / kind / f"mail.log{SUFFIX[kind]}"
        path.parent.mkdir()
        path.write_bytes(compress(kind, LOG))
        events, run = parse_events([path], year=2025, tz="UTC")
        assert run.errors == []
        assert run.stats[0].compression == (None if kind == "plain" else kind)
        assert run.stats[0].unaccounted() == 0
        tables[kind] = events.select(["ts", "seq", "event", "queue_id", "offset",
                                      "source_fp"]).to_pylist()
    first = tables["plain"]
    assert len(first) == 7
    assert [r["offset"] for r in first] == LINE_STARTS
    for kind in KINDS:
        assert tables[kind] == first, kind


# --- stdin ------------------------------------------------------------------------------

def _parse_stdin(path: Path, *extra: str) -> subprocess.CompletedProcess:
    with open(path, "rb") as fh:
        return subprocess.run(
            [sys.executable, "-m", "logwatch", "parse", "-", "--year", "2025", "--tz", "UTC",
             "-j", "1", *extra],
            stdin=fh, capture_output=True, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("kind", ["plain", "gzip", "zstd"])
def test_stdin_is_read_and_decompressed(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"in{SUFFIX[kind]}"
    path.write_bytes(compress(kind, LOG))
    r = _parse_stdin(path, "--stats", "json")
    assert r.returncode == 0, r.stderr.decode()
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 7
    assert {row["source"] for row in rows} == {"-"}
    assert [row["offset"] for row in rows] == LINE_STARTS
    assert rows[0]["event"] == "connect" and rows[0]["ts"] == "2025-11-29T12:32:30Z"
    assert rows[-1]["event"] == "removed"
    report = json.loads(r.stderr.decode()[r.stderr.decode().index("{"):])
    src = report["sources"][0]
    assert src["source"] == "-"
    assert src["compression"] == (None if kind == "plain" else kind)
    assert src["format"] == "bsd"
    assert src["lines"] == 7


def test_stdin_larger_than_the_probe_head(tmp_path: Path) -> None:
    data = many_lines(3000)
    path = tmp_path / "in.gz"
    path.write_bytes(gzip.compress(data))
    r = _parse_stdin(path)
    assert r.returncode == 0, r.stderr.decode()
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 3000
    assert rows[-1]["offset"] == data.rfind(b"\n", 0, len(data) - 1) + 1


# --- rotation order ---------------------------------------------------------------------

def test_rotation_order_shell_glob() -> None:
    shell = sorted(["mail.log", "mail.log.1", "mail.log.2.gz", "mail.log.10.gz"])
    assert shell == ["mail.log", "mail.log.1", "mail.log.10.gz", "mail.log.2.gz"]
    assert rotation_order(shell) == ["mail.log.10.gz", "mail.log.2.gz", "mail.log.1",
                                     "mail.log"]


def test_rotation_order_any_input_order() -> None:
    names = ["mail.log.1", "mail.log.3.gz", "mail.log", "mail.log.2.gz"]
    want = ["mail.log.3.gz", "mail.log.2.gz", "mail.log.1", "mail.log"]
    assert rotation_order(names) == want
    assert rotation_order(list(reversed(names))) == want


def test_rotation_order_dateext() -> None:
    names = ["mail.log", "mail.log-20250201", "mail.log-20250101.gz", "mail.log-20241201.gz"]
    assert rotation_order(names) == ["mail.log-20241201.gz", "mail.log-20250101.gz",
                                     "mail.log-20250201", "mail.log"]


def test_rotation_order_dateext_with_hour() -> None:
    names = ["maillog", "maillog-2025010212.gz", "maillog-2025010200.gz"]
    assert rotation_order(names) == ["maillog-2025010200.gz", "maillog-2025010212.gz",
                                     "maillog"]


def test_rotation_groups_keep_first_seen_order() -> None:
    names = ["/var/log/mail.log", "/var/log/exim4/mainlog.1", "/var/log/mail.log.1",
             "/var/log/exim4/mainlog", "/var/log/exim4/mainlog.2.gz", "/var/log/mail.log.2.gz"]
    assert rotation_order(names) == [
        "/var/log/mail.log.2.gz", "/var/log/mail.log.1", "/var/log/mail.log",
        "/var/log/exim4/mainlog.2.gz", "/var/log/exim4/mainlog.1", "/var/log/exim4/mainlog"]


def test_same_name_in_other_directory_is_another_group() -> None:
    names = ["/a/mail.log", "/b/mail.log.1", "/a/mail.log.1"]
    assert rotation_order(names) == ["/a/mail.log.1", "/a/mail.log", "/b/mail.log.1"]


def test_rotation_order_is_a_permutation_and_keeps_stdin() -> None:
    names = ["-", "mail.log.1", "mail.log"]
    assert rotation_order(names) == ["-", "mail.log.1", "mail.log"]
    assert rotation_key("-") == ("-", 0, "")


@pytest.mark.parametrize("name,key", [
    ("mail.log", ("mail.log", 0, "")),
    ("mail.log.1", ("mail.log", 1, "")),
    ("mail.log.12.gz", ("mail.log", 12, "")),
    ("mail.log.3.zst", ("mail.log", 3, "")),
    ("mail.log.4.bz2", ("mail.log", 4, "")),
    ("mail.log.5.xz", ("mail.log", 5, "")),
    ("mail.log-20250101.gz", ("mail.log", 1, "20250101")),
    ("/var/log/maillog-20250101", ("/var/log/maillog", 1, "20250101")),
])
def test_rotation_key(name: str, key: tuple[str, int, str]) -> None:
    assert rotation_key(name) == key


@pytest.mark.parametrize("names,missing", [
    # the live file and the third rotation: the first and second are not given
    (["log/mail.log", "log/mail.log.3.gz"],
     [("log/mail.log.3.gz", "log/mail.log", "log/mail.log.1", "log/mail.log.2", 2)]),
    (["mail.log.1", "mail.log.3", "mail.log.4.gz", "mail.log.9.gz"],
     [("mail.log.9.gz", "mail.log.4.gz", "mail.log.5", "mail.log.8", 4),
      ("mail.log.3", "mail.log.1", "mail.log.2", "mail.log.2", 1)]),
    # exicyclog pads its numbers
    (["mainlog", "mainlog.03.gz"], [("mainlog.03.gz", "mainlog", "mainlog.01", "mainlog.02", 2)]),
    # a whole run, older ones simply not asked for, or no rotation at all
    (["mail.log.2.gz", "mail.log.1", "mail.log"], []),
    (["mail.log.3.gz", "mail.log.2.gz"], []),
    (["mail.log", "-"], []),
    # dates tell no file before them missing, nor which number preceded the live file
    (["mail.log-20261127.gz", "mail.log-20261129.gz", "mail.log"], []),
    (["mail.log.2.gz", "mail.log-20261129.gz", "mail.log"], []),
    (["mail.log.3.gz", "mail.log.1", "mail.log-20261129.gz", "mail.log"],
     [("mail.log.3.gz", "mail.log.1", "mail.log.2", "mail.log.2", 1)]),
    # two logs given together are two series, each with its own numbers
    (["/var/log/mail.log.2.gz", "/var/log/exim4/mainlog.1", "/var/log/mail.log",
      "/var/log/exim4/mainlog"],
     [("/var/log/mail.log.2.gz", "/var/log/mail.log", "/var/log/mail.log.1",
       "/var/log/mail.log.1", 1)]),
])
def test_missing_rotations(names: list[str],
                           missing: list[tuple[str, str, str, str, int]]) -> None:
    found = missing_rotations(names)
    assert [(m.after, m.before, m.first, m.last, m.count) for m in found] == missing
    assert all(m.log == rotation_key(m.before)[0] for m in found)


def test_files_given_out_of_order_are_read_in_rotation_order(tmp_path: Path) -> None:
    older = tmp_path / "mail.log.1"
    older.write_bytes(b"Nov 30 23:59:00 mx1 postfix/qmgr[1]: ABCDE12345: removed\n")
    newer = tmp_path / "mail.log"
    newer.write_bytes(b"Dec  1 00:01:00 mx1 postfix/qmgr[1]: ABCDE12346: removed\n")
    events, run = parse_events([newer, older], year=2024, tz="UTC")
    assert [s.source for s in run.stats] == [str(older), str(newer)]
    assert events.column("source").to_pylist() == [str(older), str(newer)]
    assert [t.isoformat() for t in events.column("ts").to_pylist()] == [
        "2024-11-30T23:59:00+00:00", "2024-12-01T00:01:00+00:00"]


# A gzip member whose deflate data is not deflate: 'g' = BFINAL 1, BTYPE 3 (invalid), so
# zlib raises zlib.error (not an OSError) on its first byte, whatever zlib's version.
_CORRUPT_MEMBER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbagegarbage"


@pytest.mark.parametrize("command", ["parse", "detect", "report"])
def test_corrupt_gzip_is_named_and_the_other_inputs_are_read(tmp_path: Path,
                                                              command: str) -> None:
    """`printf '\\x1f\\x8b\\x08\\x00garbage' > bad.gz`: a zlib.error, which used to escape
    as a traceback (exit 1) with nothing of good.log output."""
    bad = tmp_path / "bad.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbagegarbage")
    good = tmp_path / "good.log"
    good.write_bytes(LOG)
    r = subprocess.run([sys.executable, "-m", "logwatch", command, str(bad), str(good),
                        "--year", "2025", "--tz", "UTC"], capture_output=True, cwd=ROOT)
    assert r.returncode == 2, r.stderr
    assert b"Traceback" not in r.stderr
    assert f"{bad}: damaged gzip data".encode() in r.stderr
    if command == "parse":
        assert len(r.stdout.splitlines()) == 7   # every line of good.log
    elif command == "report":
        assert str(good).encode() in r.stdout


def test_corrupt_gzip_midway_keeps_the_lines_before(tmp_path: Path) -> None:
    """Damage after a first complete member: an error naming the file, as truncation
    gives, and every line before it read."""
    bad = tmp_path / "mail.log.2.gz"
    bad.write_bytes(gzip.compress(many_lines(20_000), mtime=GZIP_MTIME) + _CORRUPT_MEMBER)
    good = tmp_path / "mail.log.1"
    good.write_bytes(LOG)
    events, run = parse_events([good, bad], year=2025, tz="UTC", block_size=16 * 1024)
    assert len(run.errors) == 1 and str(bad) in run.errors[0], run.errors
    assert "read error after" in run.errors[0]
    by_source = {s.source: s for s in run.stats}
    assert by_source[str(bad)].lines == 20_000
    assert by_source[str(good)].lines == 7


def test_truncated_small_gzip_keeps_its_first_part(tmp_path: Path) -> None:
    """Under 64 KiB of text, the damage falls in the probe's head: what `zcat` recovers is
    read (it used to be 0 lines and a 'damaged at its start' error)."""
    packed = gzip.compress(many_lines(300), mtime=GZIP_MTIME)
    cut = packed[: len(packed) * 3 // 4]
    recoverable = zlib.decompressobj(wbits=31).decompress(cut).count(b"\n")
    assert recoverable > 100
    broken = tmp_path / "mail.log.1.gz"
    broken.write_bytes(cut)
    events, run = parse_events([broken], year=2025, tz="UTC")
    assert len(run.errors) == 1 and str(broken) in run.errors[0], run.errors
    assert recoverable * 0.9 <= run.stats[0].lines <= recoverable
    assert events.num_rows == run.stats[0].mail_lines


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_explain_reads_a_damaged_gzip_up_to_the_damage(tmp_path: Path, damage: str) -> None:
    """`parse --explain` read the inputs again whole: a traceback on the damage, and an
    unreadable input gave exit 2 without a word."""
    packed = gzip.compress(LOG, mtime=GZIP_MTIME)
    bad = tmp_path / "mail.log.1.gz"
    bad.write_bytes(packed[:-12] if damage == "truncated" else packed + _CORRUPT_MEMBER)
    missing = tmp_path / "mail.log.2"
    r = subprocess.run([sys.executable, "-m", "logwatch", "parse", "--explain", str(bad),
                        str(missing), "--year", "2025", "--tz", "UTC"],
                       capture_output=True, cwd=ROOT)
    assert r.returncode == 2 and b"Traceback" not in r.stderr, r.stderr
    assert f"{bad}: read error after".encode() in r.stderr
    assert f"{missing}: cannot open".encode() in r.stderr
    assert b"connect from unknown[192.0.2.10]" in r.stdout
