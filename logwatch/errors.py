"""Every error the tool reports on purpose, and where it points.

    LogwatchError                  anything we raise knowingly; the CLI prints it and exits 2
     ├── ConfigError               a configuration file or data file (parsers/, rules/) is wrong
     │    └── DefinitionError      a parser or rule definition failed validation
     ├── SourceError               an input cannot be opened or read
     └── UsageError                the command line asks for something impossible

Messages always say *where*: the file, and the line or field when known, because the
person reading them is looking at a cron mail, not at a debugger.
"""

from __future__ import annotations


class LogwatchError(Exception):
    """Base of the errors the CLI reports as `mail-logwatch: <message>` with exit code 2."""


class ConfigError(LogwatchError):
    """A configuration or data file is invalid."""


class DefinitionError(ConfigError):
    """A parser or rule definition (TOML under parsers/ or rules/) is invalid."""


class SourceError(LogwatchError):
    """An input could not be opened, decompressed or read."""


class UsageError(LogwatchError):
    """The command line is inconsistent (e.g. an output suffix we cannot write)."""
