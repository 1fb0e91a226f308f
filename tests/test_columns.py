"""Column helpers every stage shares: asking a dictionary column through its dictionary."""

from __future__ import annotations

import pyarrow as pa

from logwatch.columns import in_values, plain


def test_in_values_equals_asking_the_decoded_values() -> None:
    """Chunks with dictionaries of their own (each block encodes its own), nulls, and a
    plain string chunk beside them."""
    a = pa.array(["connect", "reject", None, "connect"]).dictionary_encode()
    b = pa.array(["auth_failure", None, "delivery"]).dictionary_encode()
    c = pa.array(["reject", "other"]).dictionary_encode()
    col = pa.chunked_array([a, b, c])
    want = ["reject", "auth_failure"]
    got = in_values(col, pa.array(want)).to_pylist()
    assert got == [v in want for v in plain(col).to_pylist()]
    assert got == [False, True, False, False, True, False, False, True, False]
    assert in_values(pa.array(["reject", None]), pa.array(want)).to_pylist() == [True, False]
    assert in_values(pa.chunked_array([], pa.dictionary(pa.int32(), pa.string())),
                     pa.array(want)).to_pylist() == []
