"""Column helpers every stage shares: asking a dictionary column through its dictionary,
and the distinct values of an array."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from logwatch.columns import distinct, in_values, plain, rows_among


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
    assert rows_among(col, pa.array(want)).tolist() == [1, 4, 7]
    plain_chunks = pa.chunked_array([["4F2A", None], ["9C11", "4F2A"]])
    assert rows_among(plain_chunks, pa.array(["4F2A", "77AB"])).tolist() == [0, 3]


def test_distinct_is_numpy_unique() -> None:
    """Many distinct values (the case NumPy's own is slow at), repeats, negative
    numbers, an empty array, and a 2-D array flattened as `np.unique` does."""
    rng = np.random.default_rng(7)
    many = rng.integers(-10**12, 10**12, 50_000)
    repeats = rng.integers(0, 30, 10_000)
    for values in (many, repeats, np.array([5, -1, 5, 3, -1]), np.zeros(0, np.int64),
                   repeats.reshape(100, 100)):
        got = distinct(values)
        assert got.dtype == values.dtype
        assert np.array_equal(got, np.unique(values))
    assert distinct(np.array([5, -1, 5, 3, -1])).tolist() == [-1, 3, 5]
