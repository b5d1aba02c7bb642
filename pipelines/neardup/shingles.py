"""Text → 64-bit shingle hashes, vectorized in numpy over a whole batch of documents.

Normalization: lowercase; every character that is not a letter, mark or number (Unicode categories
L*, M*, N*) becomes a space — punctuation and symbols are stripped, but combining marks stay inside
their word (a regex ``\\w`` would split Devanagari or Thai words at every vowel sign); whitespace
collapsed.

Shingles: word n-grams (n = `ngram`) for scripts written with spaces; character n-grams
(n = `char_ngram`, whitespace removed) when the document's dominant script is written without spaces
(`pipelines.scripts.is_unspaced`: Han, kana, Thai, Khmer, Lao, Myanmar, Tibetan) — chosen by script,
never by a language list. Short-document rule: a document with fewer tokens than n yields exactly one
shingle, its whole token sequence, so short near-identical documents still collide. A document with no
token at all yields no shingle and is never anyone's near-duplicate.

Hashing: a Python call per token (xxhash per word) would dominate the run time, so tokens are hashed
from their code points with a seeded splitmix64 finalizer in numpy: token hash = mix(Σ mix(code point,
position in token)); n-gram hash = mix(Σ mix(token hash, position in n-gram)). Position enters every
term, so order matters; arithmetic wraps mod 2^64. One set of numpy calls covers a whole batch, so the
per-document cost is a few Python string calls.
"""

from __future__ import annotations

import threading
import unicodedata
from collections import Counter

import numpy as np

from pipelines.scripts import char_script, dominant_from_counts, is_unspaced

U64 = np.uint64
_SCRIPT_LIMIT = 4000  # same sample size as pipelines.scripts.dominant_script
_SCRIPT_END = 0x2FA20  # past the last letter range of pipelines.scripts: above it every char is "Zyyy"
_NO_SCRIPT = 255

# Distinct odd constants so the hashing levels (char, position, n-gram) never share a term.
_C_CHAR = U64(0x9E3779B97F4A7C15)
_C_POS = U64(0xC2B2AE3D27D4EB4F)
_C_GRAM = U64(0x165667B19E3779F9)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer over a uint64 array (a bijection with good avalanche)."""
    x = x ^ (x >> U64(30))
    x *= U64(0xBF58476D1CE4E5B9)
    x ^= x >> U64(27)
    x *= U64(0x94D049BB133111EB)
    x ^= x >> U64(31)
    return x


class _LazyTable:
    """Code point → small int, computed on first sight of each code point (a corpus uses a few
    thousand distinct ones; computing all 1.1M up front costs ~0.3 s per worker process)."""

    UNKNOWN = 254

    def __init__(self, size: int, fn):
        self.values = np.full(size, self.UNKNOWN, dtype=np.uint8)
        self.fn = fn
        self.lock = threading.Lock()

    def __call__(self, cp: np.ndarray) -> np.ndarray:
        v = self.values[cp]
        unknown = v == self.UNKNOWN
        if unknown.any():
            with self.lock:
                for c in np.unique(cp[unknown]).tolist():
                    self.values[c] = self.fn(c)
            v = self.values[cp]
        return v


def _is_word(c: int) -> int:
    return int(unicodedata.category(chr(c))[0] in "LMN")  # letter, mark, number


_SCRIPT_NAMES: list[str] = []  # index → script, in order of first sight (internal to this process)


def _script_index(c: int) -> int:
    """pipelines.scripts.script_counts's filter and script of one code point; _NO_SCRIPT if it does not vote."""
    ch = chr(c)
    if not (ch.isalpha() or ch.isalnum() and not ch.isdigit()):
        return _NO_SCRIPT
    s = char_script(ch)
    if s == "Zyyy":
        return _NO_SCRIPT
    if s not in _SCRIPT_NAMES:
        _SCRIPT_NAMES.append(s)
    return _SCRIPT_NAMES.index(s)


_WORD = _LazyTable(0x110000, _is_word)
_SCRIPT = _LazyTable(_SCRIPT_END, _script_index)


def codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def normalize(text: str) -> str:
    """Lowercase, non-word characters → space, whitespace collapsed to single spaces, stripped."""
    cp = codepoints(text.lower()).copy()
    cp[_WORD(cp) == 0] = 32
    return " ".join(cp.tobytes().decode("utf-32-le", "surrogatepass").split())


def text_scripts(texts: list[str]) -> list[str]:
    """`pipelines.scripts.dominant_script` of each text, by table lookup over the whole batch instead of
    a per-character Python loop (~100x faster)."""
    out = ["Zyyy"] * len(texts)
    rest = []
    for i, t in enumerate(texts):
        if t.isascii():  # ASCII letters are all Latin; upper != lower iff there is a letter
            sample = t[:_SCRIPT_LIMIT]
            out[i] = "Latn" if sample.upper() != sample.lower() else "Zyyy"
        else:
            rest.append(i)
    if rest:
        samples = [texts[i][:_SCRIPT_LIMIT] for i in rest]
        cp = codepoints("".join(samples))
        doc = np.repeat(np.arange(len(rest)), [len(x) for x in samples])
        idx = _SCRIPT(np.minimum(cp, _SCRIPT_END - 1)).astype(np.int64)  # the last entry is no letter
        voting = idx != _NO_SCRIPT
        k = len(_SCRIPT_NAMES)
        counts = np.bincount(doc[voting] * k + idx[voting], minlength=len(rest) * k)
        for row, i in zip(counts.reshape(len(rest), k), rest, strict=True):
            out[i] = dominant_from_counts(Counter({_SCRIPT_NAMES[j]: int(row[j]) for j in np.flatnonzero(row)}))
    return out


def char_mode(texts: list[str]) -> list[bool]:
    """Per text: character n-grams (dominant script written without spaces) or word n-grams."""
    return [is_unspaced(s) for s in text_scripts(texts)]


def _token_hashes(cp: np.ndarray, chars_as_tokens: bool, seed: U64) -> tuple[np.ndarray, np.ndarray]:
    """Token hashes of a code point array and each token's first code point index."""
    word = _WORD(cp) == 1
    if chars_as_tokens:
        where = np.flatnonzero(word)
        return mix64((cp[where].astype(U64) * _C_CHAR) ^ seed), where
    prev = np.r_[False, word[:-1]]
    where = np.flatnonzero(word & ~prev)  # token starts, in code point positions
    chars = cp[word].astype(U64)
    starts = np.flatnonzero((word & ~prev)[word])  # token starts, in word-character positions
    lens = np.diff(np.r_[starts, chars.size])
    pos = np.arange(chars.size, dtype=U64) - np.repeat(starts.astype(U64), lens)
    terms = mix64((chars * _C_CHAR) ^ (pos * _C_POS) ^ seed)
    return mix64(np.add.reduceat(terms, starts) ^ seed) if starts.size else starts.astype(U64), where


def _batch_group(lowered: list[str], n: int, chars_as_tokens: bool, seed: U64) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of documents sharing one mode: flat array + per-document offsets."""
    joined = "\n".join(lowered)  # "\n" is no word character: tokens never span two documents
    cp = codepoints(joined)
    tok, where = _token_hashes(cp, chars_as_tokens, seed)
    doc_starts = np.cumsum([0] + [len(t) + 1 for t in lowered[:-1]])
    tok_doc = np.searchsorted(doc_starts, where, side="right") - 1
    n_tok = np.bincount(tok_doc, minlength=len(lowered))
    first_tok = np.cumsum(n_tok) - n_tok
    n_sh = np.where(n_tok >= n, n_tok - n + 1, np.minimum(n_tok, 1))
    offsets = np.r_[0, np.cumsum(n_sh)]
    out = np.empty(int(offsets[-1]), dtype=U64)
    m = tok.size - n + 1
    if m > 0:  # every n-window of the batch; keep those inside one document
        acc = np.zeros(m, dtype=U64)
        for j in range(n):  # n is small: one vector op per position over all windows of the batch
            acc += mix64(tok[j : j + m] ^ (U64(j + 1) * _C_GRAM))
        inside = tok_doc[: m] == tok_doc[n - 1 :]
        i = np.flatnonzero(inside)
        d = tok_doc[i]
        out[offsets[d] + (i - first_tok[d])] = mix64(acc[i] ^ seed ^ U64(n))
    short = np.flatnonzero((n_tok > 0) & (n_tok < n))
    if short.size:  # short-document rule: one shingle of the whole token sequence
        pos = (np.arange(tok.size) - first_tok[tok_doc]).astype(U64)
        csum = np.r_[U64(0), np.cumsum(mix64(tok ^ ((pos + U64(1)) * _C_GRAM)), dtype=U64)]
        sums = csum[first_tok[short] + n_tok[short]] - csum[first_tok[short]]  # wraps mod 2^64
        out[offsets[short]] = mix64(sums ^ seed ^ n_tok[short].astype(U64))
    return out, offsets


def batch_shingle_hashes(
    texts: list[str], ngram: int = 5, char_ngram: int = 5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of many documents: flat uint64 array and offsets (doc i = flat[off[i]:off[i+1]]).
    Hashes of one document may repeat (a repeated n-gram); MinHash does not care."""
    s = U64(seed & 0xFFFFFFFFFFFFFFFF)
    modes = char_mode(texts)
    groups = []
    for mode, n in ((False, ngram), (True, char_ngram)):
        idx = [i for i, m in enumerate(modes) if m == mode]
        if idx:
            flat, off = _batch_group([texts[i].lower() for i in idx], n, mode, s)
            groups.append((np.asarray(idx), flat, off))
    counts = np.zeros(len(texts), dtype=np.int64)
    for idx, _, off in groups:
        counts[idx] = np.diff(off)
    offsets = np.r_[0, np.cumsum(counts)]
    flat = np.empty(int(offsets[-1]), dtype=U64)
    for idx, g_flat, g_off in groups:  # scatter each group's documents into batch order
        lens = np.diff(g_off)
        dest = np.repeat(offsets[idx] - g_off[:-1], lens) + np.arange(g_flat.size)
        flat[dest] = g_flat
    return flat, offsets


def shingle_hashes(text: str, ngram: int = 5, char_ngram: int = 5, seed: int = 0) -> np.ndarray:
    """Sorted unique shingle hashes of one document (the set exact verification compares)."""
    flat, _ = batch_shingle_hashes([text], ngram, char_ngram, seed)
    return np.unique(flat)


def shingle_strings(text: str, ngram: int = 5, char_ngram: int = 5) -> list[str]:
    """The same shingles as plain strings (tokens joined by a space; characters joined as-is).
    Used by the brute-force checks in tests and to feed the baselines in benchmarks/neardup.py."""
    norm = normalize(text)
    if not norm:
        return []
    if char_mode([text])[0]:
        toks, n, sep = list(norm.replace(" ", "")), char_ngram, ""
    else:
        toks, n, sep = norm.split(" "), ngram, " "
    k = min(n, len(toks))
    return sorted({sep.join(toks[i : i + k]) for i in range(len(toks) - k + 1)})
