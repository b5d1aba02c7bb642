"""Split a document's token ids into blocks of at most `max_tokens`, at the best boundary in reach.

Boundaries are ranked: line starts, then sentence starts, then word starts (a piece beginning
with '▁'); a block is cut at the furthest boundary of the best rank in the second half of its
window, so blocks stay full without cutting sentences or words when that can be avoided. Only a
run with no boundary at all (one very long word) is cut hard.
"""

from __future__ import annotations

import numpy as np

from pipelines.sentences import SENTENCE_FINAL, UNSPACED_FINAL

SPIECE = "▁"
# Sentence-final punctuation across scripts, the sentence splitter's list (pipelines.sentences);
# CJK/Devanagari ones need no following space. Token ids carry no character offsets, so the cut is
# decided on pieces; in Thai (no sentence punctuation) word starts are its spaces, as the splitter's.
SENTENCE_END = SENTENCE_FINAL
UNSPACED_END = UNSPACED_FINAL


class PieceTables:
    """Per-id booleans derived once from the vocabulary (vectorised boundary detection)."""

    def __init__(self, pieces: list[str]):
        self.word_start = np.array([p.startswith(SPIECE) for p in pieces], dtype=bool)
        stripped = [p.lstrip(SPIECE) for p in pieces]
        self.sentence_end = np.array([bool(s) and s[-1] in SENTENCE_END for s in stripped], dtype=bool)
        self.unspaced_end = np.array([bool(s) and s[-1] in UNSPACED_END for s in stripped], dtype=bool)


def boundary_ranks(ids: np.ndarray, line_starts: list[int], tables: PieceTables) -> np.ndarray:
    """rank[i] for a cut before token i: 0 line start, 1 sentence start, 2 word start, 3 none."""
    n = len(ids)
    rank = np.full(n + 1, 3, dtype=np.int8)
    if n == 0:
        return rank
    word = tables.word_start[ids]
    rank[:n][word] = 2
    prev_end = np.zeros(n, dtype=bool)
    prev_end[1:] = tables.sentence_end[ids[:-1]] & word[1:]
    prev_end[1:] |= tables.unspaced_end[ids[:-1]]
    rank[:n][prev_end] = 1
    rank[np.asarray(line_starts, dtype=np.int64)] = 0
    rank[n] = 0
    return rank


def split_blocks(rank: np.ndarray, max_tokens: int) -> list[tuple[int, int]]:
    """(start, end) blocks covering [0, n) with end - start <= max_tokens, cut at the best ranks."""
    n = len(rank) - 1
    out: list[tuple[int, int]] = []
    start = 0
    while start < n:
        if n - start <= max_tokens:
            out.append((start, n))
            break
        lo, hi = start + max(1, max_tokens // 2), start + max_tokens
        cut = hi  # hard cut when nothing better is in reach
        for window_lo in (lo, start + 1):
            window = rank[window_lo:hi + 1]
            best = int(window.min())
            if best < 3:
                cut = window_lo + int(np.flatnonzero(window == best)[-1])
                break
        out.append((start, cut))
        start = cut
    return out
