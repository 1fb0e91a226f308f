"""What a command says on stderr besides its output: notes and errors, each line made
safe for a terminal (file names and log text come from elsewhere). One module of its
own, so that `parse`, which the other commands take their input options from, says them
in the same words."""

from __future__ import annotations

import sys

from logwatch.sanitize import lines_for_terminal

__all__ = ["print_notes", "print_errors"]


def print_notes(notes: list[str]) -> None:
    for note in notes:
        print(f"mail-logwatch: note: {lines_for_terminal(note)}", file=sys.stderr)


def print_errors(errors: list[str]) -> None:
    for err in errors:
        print(f"mail-logwatch: {lines_for_terminal(err)}", file=sys.stderr)
