"""How long delivered mail took, as percentiles: logwatch's postfix service prints them
("Delivery Delays Percentiles"), pflogsumm only an average and a maximum per domain. An
average of a second hides the messages that waited an hour behind a hundred that did
not; the 90th and 99th percentiles show them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PERCENTILES", "STAGES", "delivery_delays"]

#: The percentiles reported, each under `p<N>` (the maximum is `max`).
PERCENTILES = (50, 90, 95, 99)

#: Postfix's split of a delivery's delay (`delays=a/b/c/d`), each a column of the events
#: (`delay_<stage>`), and the row logwatch prints it under.
STAGES = (("before_qmgr", "Before qmgr"), ("in_qmgr", "In qmgr"),
          ("conn_setup", "Conn setup"), ("transmission", "Transmission"))


def _figures(delays: pd.Series) -> dict[str, Any]:
    """How many delays were known, their percentiles and the longest; logwatch's method,
    so that a reader can set the two side by side: the sorted delays' value at rank
    1 + p(n-1)/100, interpolated between the two ranks around it (Excel's
    PERCENTILE.INC, Hyndman and Fan's type 7, NumPy's default)."""
    timed = delays.dropna().to_numpy(dtype=float)
    figures: list[float | None] = (
        [round(float(v), 6) for v in np.percentile(timed, [*PERCENTILES, 100])]
        if len(timed) else [None] * (len(PERCENTILES) + 1))
    return {"timed": len(timed), **{f"p{p}": v for p, v in zip(PERCENTILES, figures)},
            "max": figures[-1]}


def delivery_delays(sized: pd.DataFrame) -> dict[str, Any]:
    """Percentiles of the delay of each delivered recipient, over the deliveries and
    delays of the domain table (`sized_deliveries`: pflogsumm's delivered, a hand-off to
    a content filter included; Exim's delay since the arrival line where it logged
    none), so that the maximum is the longest delay of mail delivered there. Those whose
    delay is not known (Exim's, with the arrival rotated away) are counted apart
    (`untimed`), not as 0. logwatch puts every delivery attempt in, deferrals and bounces
    too; these are of delivered mail.

    `stages`: the same of Postfix's split, where the deliveries logged one (none for
    Exim and Sendmail, which do not): a slow day's 99th percentile is a slow client, a
    congested queue, slow DNS or TLS, or a slow peer, and only the split tells which.
    """
    sent = sized.loc[sized["status"] == "sent"]
    total = _figures(sent["delay"])
    stages = [{"stage": name, **_figures(sent[f"delay_{name}"])} for name, _ in STAGES]
    return {"delivered": len(sent), "untimed": len(sent) - total["timed"], **total,
            "stages": [s for s in stages if s["timed"]]}
