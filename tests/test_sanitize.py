"""Attacker-chosen text shown on a terminal cannot drive it, nor hide in it."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

from logwatch.sanitize import for_terminal
from tests.conftest import ROOT


def test_controls_and_bidi_are_shown_not_obeyed() -> None:
    hostile = "evil\x1b]0;owned\x07\x1b[2J\r\nnext\u202egpj.exe\x9b31m"
    shown = for_terminal(hostile)
    assert shown == "evil\\x1b]0;owned\\x07\\x1b[2J\\x0d\\x0anext\\u202egpj.exe\\x9b31m"
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in shown)


def test_ordinary_text_is_unchanged() -> None:
    text = "bob@example.com <=> Grüße, 日本 [192.0.2.1]:25"
    assert for_terminal(text) == text


def test_invisible_characters_are_shown_not_hidden() -> None:
    """Zero-width spaces and joiners, word joiners, BOMs, line and paragraph separators,
    soft hyphens and tag characters make `ad<ZWSP>min` read as `admin`: shown escaped."""
    hostile = "ad\u200bmin\u2060 r\u200doot\ufeff a\u2028b\u2029c \U000e0041\U000e007f s\xadoft"
    assert for_terminal(hostile) == ("ad\\u200bmin\\u2060 r\\u200doot\\ufeff a\\u2028b\\u2029c "
                                     "\\U000e0041\\U000e007f s\\xadoft")


def test_every_control_format_and_separator_character_is_escaped() -> None:
    """Unicode's Cc, Cf, Zl and Zp, as this Python knows them, all of them."""
    unsafe = [chr(c) for c in range(sys.maxunicode + 1)
              if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zl", "Zp")]
    shown = [(c, for_terminal(c)) for c in unsafe]
    assert [c for c, s in shown if s == c or not s.isascii()] == []


def test_text_output_shows_a_look_alike_username_escaped(tmp_path: Path) -> None:
    """A real SASL failure line with `ad<ZWSP>min`: `detect --format text` shows it."""
    log = tmp_path / "mail.log"
    log.write_text("".join(f"2026-03-03T10:50:0{s}+00:00 mx1 postfix/smtpd[40]: warning: "
                           "unknown[192.0.2.55]: SASL LOGIN authentication failed: "
                           "UGFzc3dvcmQ6, sasl_username=ad\u200bmin\n" for s in range(6)),
                   encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "logwatch", "detect", str(log), "--format",
                           "text"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ad\\u200bmin" in done.stdout and "\u200b" not in done.stdout
