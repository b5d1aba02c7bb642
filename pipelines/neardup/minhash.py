"""MinHash signatures and LSH band keys, one matrix operation per block of documents.

Permutations: P = b·r seeded universal hashes h_i(x) = (a_i·x + c_i) mod 2^64 over the 64-bit shingle
hashes, a_i odd (so each h_i is a bijection of uint64) and a_i, c_i drawn from numpy's PCG64 seeded
with `seed` — the same seed gives the same signatures on every machine. The signature of a document
is min_x h_i(x) for each i, computed as one (shingles × P) uint64 matrix product-plus-offset followed
by a segmented minimum per document (`np.minimum.reduceat`): no Python loop over permutations.

LSH S-curve: with b bands of r rows, two documents of Jaccard similarity s share at least one band
bucket with probability P(s) = 1 − (1 − s^r)^b; the knee sits near s ≈ (1/b)^(1/r). For 14 × 8:
knee ≈ 0.719; P(0.5) = 0.053, P(0.6) = 0.211, P(0.7) = 0.565, P(0.8) = 0.924, P(0.9) = 0.9996.
Candidates are then optionally verified (estimated Jaccard = fraction of equal signature entries,
or exact Jaccard of the shingle sets) against `threshold`.
"""

from __future__ import annotations

import struct

import numpy as np

from pipelines.neardup.shingles import U64, mix64

EMPTY = np.iinfo(np.uint64).max  # signature entry of a document without shingles
_BLOCK_ROWS = 2048  # shingles per matrix block: (2048 × 112) uint64 ≈ 1.8 MB stays cache-friendly


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, c) of the universal hashes; a is odd. Deterministic in (num_perm, seed)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    a = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64, endpoint=False) | U64(1)
    c = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64, endpoint=False)
    return a, c


def signatures(flat: np.ndarray, offsets: np.ndarray, perm: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """MinHash signatures (n_docs × P uint64) of documents given as flat shingle hashes + offsets.
    A document without shingles gets a row of EMPTY (callers must not band it)."""
    a, c = perm
    n_docs = offsets.size - 1
    sig = np.full((n_docs, a.size), EMPTY, dtype=np.uint64)
    lens = np.diff(offsets)
    doc_of_row = np.repeat(np.arange(n_docs), lens)
    for lo in range(0, flat.size, _BLOCK_ROWS):  # blocks bound memory, not a per-permutation loop
        hi = min(lo + _BLOCK_ROWS, flat.size)
        block = a[:, None] * flat[None, lo:hi]  # (P × shingles): reductions run along contiguous rows
        block += c[:, None]
        docs = doc_of_row[lo:hi]
        seg = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]])  # each document's rows in this block
        mins = np.minimum.reduceat(block, seg, axis=1).T
        d = docs[seg]
        sig[d] = np.minimum(sig[d], mins)  # a document split across blocks keeps its running minimum
    return sig


def band_hashes(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n_docs × bands) uint64: each band's r signature entries folded into one mixed 64-bit value."""
    n = sig.shape[0]
    h = np.zeros((n, bands), dtype=np.uint64)
    cube = sig.reshape(n, bands, rows)
    for j in range(rows):  # r is small; each step covers every document and band at once
        h = mix64(h ^ cube[:, :, j])
    return h


def band_key(band: int, h: int) -> bytes:
    """Shuffle key of an LSH bucket: band index + band hash (10 bytes; deterministic coder)."""
    return struct.pack("<HQ", band, h)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Fraction of equal signature entries: an unbiased estimate of the Jaccard similarity."""
    return float(np.count_nonzero(sig_a == sig_b)) / sig_a.size


def exact_jaccard(set_a: np.ndarray, set_b: np.ndarray) -> float:
    """Jaccard similarity of two sorted unique hash arrays."""
    if set_a.size == 0 and set_b.size == 0:
        return 1.0
    inter = np.intersect1d(set_a, set_b, assume_unique=True).size
    return inter / (set_a.size + set_b.size - inter)


def candidate_probability(s: float, bands: int, rows: int) -> float:
    """P(two documents of Jaccard s share a bucket) = 1 − (1 − s^r)^b."""
    return 1.0 - (1.0 - s**rows) ** bands


def knee(bands: int, rows: int) -> float:
    """Approximate threshold of the S-curve, (1/b)^(1/r)."""
    return (1.0 / bands) ** (1.0 / rows)
