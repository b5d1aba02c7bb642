"""MinHash signatures and LSH band keys, one matrix operation per block of documents.

Permutations: P = b·r seeded universal hashes h_i(x) = (a_i·x + c_i) mod 2^32 over the shingle hashes
folded to 32 bits (x = lo32(s) xor hi32(s) of the 64-bit shingle hash s), a_i odd (so each h_i is a
bijection of uint32) and a_i, c_i drawn from numpy's PCG64 seeded with `seed` — the same seed gives
the same signatures on every machine. The signature of a document is min_x h_i(x) for each i,
computed as one (shingles × P) matrix product-plus-offset followed by a segmented minimum per
document (`np.minimum.reduceat`): no Python loop over permutations.

Why 32 bits: numpy has no SIMD 64-bit multiply, so uint32 arithmetic is ~2-3× faster and halves the
memory traffic. It stays sound: h_i is a bijection of the folded hash, so two documents' minima are
equal only when both contain a shingle with the same folded hash. Distinct shingles share a folded
hash with probability 2^-32 per pair — for two documents of 1,000 shingles each ~5·10^-4 that *any*
pair of their ~2,000 shingles does, and such a collision moves the Jaccard estimate only when that
shingle is also a minimum (≤ 1/1000 of the time): far below the estimator's own error (~1/√P). The
band keys stay 64-bit (each band's r values are mixed into a 64-bit hash).

LSH S-curve: with b bands of r rows, two documents of Jaccard similarity s share at least one band
bucket with probability P(s) = 1 − (1 − s^r)^b; the knee sits near s ≈ (1/b)^(1/r). For 14 × 8:
knee ≈ 0.719; P(0.5) = 0.053, P(0.6) = 0.211, P(0.7) = 0.565, P(0.8) = 0.924, P(0.9) = 0.9996.
Candidates are then optionally verified (estimated Jaccard = fraction of equal signature entries,
or exact Jaccard of the shingle sets) against `threshold`.
"""

from __future__ import annotations

import numpy as np

from pipelines.neardup.shingles import U64, mix64

SIG = np.uint32  # signature entry type (see module doc)
EMPTY = np.iinfo(SIG).max  # signature entry of a document without shingles
# Shingles per matrix block: (112 × 8000) uint32 ≈ 3.6 MB stays in cache. Larger than before because
# each block costs a few fixed numpy calls; not a power of two, whose row stride measured ~2× slower.
_BLOCK_ROWS = 8000


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, c) of the universal hashes (uint32); a is odd. Deterministic in (num_perm, seed)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    a = rng.integers(0, 2**32, size=num_perm, dtype=np.uint64, endpoint=False).astype(SIG) | SIG(1)
    c = rng.integers(0, 2**32, size=num_perm, dtype=np.uint64, endpoint=False).astype(SIG)
    return a, c


def fold32(flat: np.ndarray) -> np.ndarray:
    """64-bit shingle hashes → 32 bits (low xor high half)."""
    return (flat ^ (flat >> U64(32))).astype(SIG)


def signatures(flat: np.ndarray, offsets: np.ndarray, perm: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """MinHash signatures (n_docs × P uint32) of documents given as flat shingle hashes + offsets.
    A document without shingles gets a row of EMPTY (callers must not band it)."""
    a, c = perm
    n_docs = offsets.size - 1
    sig = np.full((n_docs, a.size), EMPTY, dtype=SIG)
    lens = np.diff(offsets)
    doc_of_row = np.repeat(np.arange(n_docs), lens)
    x = fold32(flat)
    a_col, c_col = a[:, None], c[:, None]
    buf = np.empty((a.size, min(_BLOCK_ROWS, flat.size)), dtype=SIG)  # reused by every block
    for lo in range(0, flat.size, _BLOCK_ROWS):  # blocks bound memory, not a per-permutation loop
        hi = min(lo + _BLOCK_ROWS, flat.size)
        block = np.multiply(a_col, x[None, lo:hi], out=buf[:, : hi - lo])  # (P × shingles): contiguous rows
        block += c_col
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
        h = mix64(h ^ cube[:, :, j].astype(np.uint64))
    return h


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
