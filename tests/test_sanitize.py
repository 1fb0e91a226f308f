"""Attacker-chosen text shown on a terminal cannot drive it."""

from __future__ import annotations

from logwatch.sanitize import for_terminal


def test_controls_and_bidi_are_shown_not_obeyed() -> None:
    hostile = "evil\x1b]0;owned\x07\x1b[2J\r\nnext\u202egpj.exe\x9b31m"
    shown = for_terminal(hostile)
    assert shown == "evil\\x1b]0;owned\\x07\\x1b[2J\\x0d\\x0anext\\u202egpj.exe\\x9b31m"
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in shown)


def test_ordinary_text_is_unchanged() -> None:
    text = "bob@example.com <=> Grüße, 日本 [192.0.2.1]:25"
    assert for_terminal(text) == text
