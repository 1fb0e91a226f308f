"""Where lines come from: files (plain or compressed), stdin, journald exports.

Only this package touches input files. It hands the parser blocks of lines as Arrow
string arrays together with each line's byte offset, so that every row can be traced back
to the bytes it came from.
"""
