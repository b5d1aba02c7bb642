"""Corpus-wide exact dedup from compact keys: which documents and which lines are later copies.

Same decisions as CCNet-style dedup over the whole corpus, computed without moving text:

**Documents** (`exact_duplicate`): one element per document, (doc key, order), grouped by the doc
key itself. In each group the smallest order (doc_id, input file, offset) is kept; every other
member is routed back to its chunk with the doc_id it copies.

**Lines** (later copies leave their documents): the first occurrence of a line key in (doc_id, line
number) order is kept, everywhere else the line is removed. Resolved in three small rounds, so a line
that is in one chunk only (nearly all of them) costs 8 bytes of shuffle:

1. every chunk sends its distinct line keys, packed per key range (pipelines.ranges); a key seen in
   two or more chunks is *contested*, and each of those chunks is told so;
2. each chunk answers with its own first occurrence (order) of each of its contested keys;
3. the smallest order per key wins and goes back to every chunk that holds the key.

A chunk then keeps an occurrence iff it is the first of its key inside the chunk and, for contested
keys, that first occurrence is the winner. Lines of documents that are exact duplicates are left out
from round 1 on: they are removed whole.

Orders are compared as (doc_id hi, doc_id lo, line number, chunk_id, index) so even two documents
with the same doc_id (the same file in two folders, with document dedup off) resolve the same way on
every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from pipelines.mono.chunks import id_from_halves
from pipelines.ranges import pack, repeated_rows, split_by_range, unpack

U64 = np.uint64
ORDER_COLUMNS = 5  # hi, lo, line, chunk_id, index


# ------------------------------------------------------------------------------------ documents


_SHIFT = 1 << 63  # uint64 halves are shifted into int64 range: same order, compact varints


def doc_order(hi: int, lo: int, file_idx: int, offset: int, chunk_id: int, idx: int) -> tuple:
    return (hi - _SHIFT, lo - _SHIFT, file_idx, offset, chunk_id, idx)


def doc_copies(members: Iterable[tuple]) -> Iterator[tuple[int, tuple[int, str]]]:
    """For one doc key's members (doc_order tuples): (chunk_id, (index, kept doc_id)) of every member
    but the first."""
    ms = sorted(members)
    if len(ms) < 2:
        return
    kept = id_from_halves(ms[0][0] + _SHIFT, ms[0][1] + _SHIFT)
    for m in ms[1:]:
        yield m[4], (m[5], kept)


# ---------------------------------------------------------------------------------------- lines


def live_occurrences(keys: dict[str, np.ndarray], dropped_docs: Iterable[int]) -> np.ndarray:
    """Row mask of the line occurrences whose document is not an exact duplicate."""
    dropped = np.fromiter(dropped_docs, dtype=np.uint32)
    if not dropped.size:
        return np.ones(keys["key"].shape, dtype=bool)
    return ~np.isin(keys["doc"], dropped)


def chunk_key_parts(chunk_id: int, keys: dict[str, np.ndarray], live: np.ndarray,
                    n_ranges: int) -> Iterator[tuple[int, tuple[int, bytes]]]:
    """Round 1: (range, (chunk_id, distinct line keys of the chunk in that range))."""
    distinct = np.unique(keys["key"][live])
    for r, ks in split_by_range(distinct, n_ranges):
        yield r, (chunk_id, pack(ks))


def contested(parts: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    """Round 1 reduce, one range: (chunk_id, keys it shares with another chunk)."""
    parts = list(parts)
    if len(parts) < 2:
        return
    keys = np.concatenate([unpack(b, U64) for _, b in parts])
    owner = np.repeat(np.arange(len(parts)), [len(b) // 8 for _, b in parts])
    rows = repeated_rows(keys)  # each chunk sent its keys once: repeated = held by two chunks or more
    if not rows.size:
        return
    rows = rows[np.argsort(owner[rows], kind="stable")]
    for group in np.split(rows, np.flatnonzero(np.diff(owner[rows])) + 1):
        yield parts[owner[group[0]]][0], pack(np.sort(keys[group]))


def _orders(chunk_id: int, keys: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """(n × ORDER_COLUMNS) uint64 orders of the given occurrence rows."""
    doc = keys["doc"][rows]
    return np.stack([keys["id_hi"][doc], keys["id_lo"][doc], keys["line"][rows].astype(U64),
                     np.full(rows.size, chunk_id, dtype=U64), doc.astype(U64)], axis=1)


def _first_per_key(k: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Indexes of the smallest order of each distinct key (rows sorted by key, then order)."""
    sort = np.lexsort(tuple(orders[:, c] for c in reversed(range(ORDER_COLUMNS))) + (k,))
    ks = k[sort]
    first = np.r_[True, ks[1:] != ks[:-1]] if ks.size else np.zeros(0, bool)
    return sort[first]


def local_first(chunk_id: int, keys: dict[str, np.ndarray], live: np.ndarray,
                contested_keys: np.ndarray, n_ranges: int) -> Iterator[tuple[int, tuple[int, bytes, bytes]]]:
    """Round 2: (range, (chunk_id, contested keys, the chunk's first order of each, flattened))."""
    rows = np.flatnonzero(live & np.isin(keys["key"], contested_keys))
    if not rows.size:
        return
    k = keys["key"][rows]
    orders = _orders(chunk_id, keys, rows)
    first = _first_per_key(k, orders)
    for r, ks, os in split_by_range(k[first], n_ranges, orders[first]):
        yield r, (chunk_id, pack(ks), pack(os.ravel()))


def winners(parts: Iterable[tuple[int, bytes, bytes]]) -> Iterator[tuple[int, tuple[bytes, bytes]]]:
    """Round 3 reduce, one range: (chunk_id, (its contested keys, the winning order of each))."""
    parts = list(parts)
    keys = np.concatenate([unpack(k, U64) for _, k, _ in parts])
    orders = np.concatenate([unpack(o, U64).reshape(-1, ORDER_COLUMNS) for _, _, o in parts])
    owner = np.repeat(np.arange(len(parts)), [len(k) // 8 for _, k, _ in parts])
    first = _first_per_key(keys, orders)
    win_keys, win_orders = keys[first], orders[first]
    pos = np.searchsorted(win_keys, keys)  # _first_per_key returns keys in sorted order
    for i, (chunk_id, _, _) in enumerate(parts):
        rows = np.flatnonzero(owner == i)
        yield chunk_id, (pack(keys[rows]), pack(win_orders[pos[rows]].ravel()))


def removed_lines(chunk_id: int, keys: dict[str, np.ndarray], live: np.ndarray,
                  won: Iterable[tuple[bytes, bytes]]) -> dict[int, set[int]]:
    """Document index → line numbers to remove, from the chunk's keys and the round-3 winners."""
    rows = np.flatnonzero(live)
    if not rows.size:
        return {}
    k = keys["key"][rows]
    orders = _orders(chunk_id, keys, rows)
    keep = np.zeros(rows.size, dtype=bool)
    first = _first_per_key(k, orders)
    keep[first] = True
    won = list(won)
    if won:
        wk = np.concatenate([unpack(a, U64) for a, _ in won])
        wo = np.concatenate([unpack(b, U64).reshape(-1, ORDER_COLUMNS) for _, b in won])
        s = np.argsort(wk, kind="stable")
        wk, wo = wk[s], wo[s]
        fk = k[first]
        pos = np.searchsorted(wk, fk)
        pos_c = np.minimum(pos, max(wk.size - 1, 0))
        is_contested = (pos < wk.size) & (wk[pos_c] == fk)
        beaten = is_contested & (wo[pos_c] != orders[first]).any(axis=1)
        keep[first[beaten]] = False
    out: dict[int, set[int]] = {}
    drop = rows[~keep]
    for d, line in zip(keys["doc"][drop].tolist(), keys["line"][drop].tolist(), strict=True):
        out.setdefault(d, set()).add(line)
    return out
