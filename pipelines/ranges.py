"""Key ranges: how packed hash keys are spread over reducers, with a count that grows with the data.

A shuffle of one element per line would cost the runner far more per line than the work itself, so
the mono stage sends keys *packed*: one element per (chunk, key range) holding a numpy array. The
number of ranges is derived from the data — ``ceil(total keys / keys_per_range)`` — never a constant,
so a reducer holds about `keys_per_range` keys whatever the corpus size, and the reduce can use as
many workers as there are ranges. A key's range is its top bits scaled to the count (uniform, since
the keys are hashes).
"""

from __future__ import annotations

import math

import numpy as np

U64 = np.uint64


def num_ranges(total_keys: int, keys_per_range: int) -> int:
    return max(1, math.ceil(total_keys / max(1, keys_per_range)))


def range_of(keys: np.ndarray, n_ranges: int) -> np.ndarray:
    """Range index (0 ≤ r < n_ranges) of each uint64 key: its top 32 bits × n / 2^32."""
    if n_ranges == 1:
        return np.zeros(keys.shape, dtype=np.int64)
    return (((keys >> U64(32)) * U64(n_ranges)) >> U64(32)).astype(np.int64)


def split_by_range(keys: np.ndarray, n_ranges: int, *columns: np.ndarray):
    """(range, keys[rows], *columns[rows]) for every range the keys touch, in range order."""
    if not keys.size:
        return
    r = range_of(keys, n_ranges)
    order = np.argsort(r, kind="stable")
    rs = r[order]
    bounds = np.flatnonzero(np.diff(rs)) + 1
    for rows in np.split(order, bounds):
        yield (int(r[rows[0]]), keys[rows], *(c[rows] for c in columns))


def repeated_rows(keys: np.ndarray) -> np.ndarray:
    """Rows of `keys` whose key occurs more than once, grouped by key (keys in sorted order)."""
    order = np.argsort(keys, kind="stable")
    ks = keys[order]
    same_next = ks[1:] == ks[:-1]
    multi = np.zeros(ks.size, dtype=bool)
    multi[1:] |= same_next
    multi[:-1] |= same_next
    return order[multi]


def pack(a: np.ndarray) -> bytes:
    """A 1-d array as raw little-endian bytes (Beam's coder writes bytes with a length prefix only,
    where a pickled array costs ~150 bytes of header)."""
    return np.ascontiguousarray(a).tobytes()


def unpack(b: bytes, dtype) -> np.ndarray:
    return np.frombuffer(b, dtype=dtype)
