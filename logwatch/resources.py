"""Find the data directories (`parsers/`, `rules/`) of an installed copy or a checkout.

The wheel carries them inside the package (`logwatch/_data/...`, see pyproject.toml) so
that `importlib.resources` finds them from any directory; a source checkout (and an
editable install) has them beside the package instead.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["data_dir"]


def data_dir(kind: str) -> Path:
    """The built-in directory `kind` (`parsers` or `rules`)."""
    packaged = resources.files("logwatch").joinpath("_data", kind)
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / kind
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"built-in {kind}/ not found (looked in {packaged} and {checkout})")
