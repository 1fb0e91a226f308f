"""mail-logwatch: Postfix, Exim and Sendmail logs as one Arrow table, rules over it, alerts.

The flow (DESIGN.md): sources -> parse -> correlate -> enrich -> rules -> notify, with
report, trace and export reading events and messages. Each stage hands the next an Arrow
table; only `sources` reads files.
"""

import os

__version__ = "0.1.0"

# Arrow's jemalloc, which holds the tables a batch run keeps (`kept`), returns freed pages
# a second after they are freed by default. Joining the kept pieces frees a third of them
# at once while the enrichment allocates elsewhere, so on the 5M-line report 0.35 GB of
# freed pages stayed resident at its peak. The setting is read when pyarrow is first
# imported (`pa.jemalloc_set_decay_ms` later reaches only new arenas, not the one in use),
# hence here, before any module imports pyarrow; one in the environment wins.
os.environ.setdefault("JE_ARROW_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")
