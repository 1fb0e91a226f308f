"""`python -m logwatch` is the same as the `mail-logwatch` command."""

from logwatch.cli import main

raise SystemExit(main())
