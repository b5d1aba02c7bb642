"""Text → 64-bit shingle hashes, vectorized in numpy over a whole batch of documents.

Normalization: per code point, the simple lowercase mapping; every character that is not a letter,
mark or number (Unicode categories L*, M*, N*) becomes a space — punctuation and symbols are
stripped, but combining marks stay inside their word (a regex ``\\w`` would split Devanagari or Thai
words at every vowel sign); whitespace collapsed. Being per code point, the whole batch is normalized
by one table lookup (no `str.lower()` pass: on non-ASCII text it costs more than all the hashing).

Shingles: word n-grams (n = `ngram`) for scripts written with spaces; character n-grams
(n = `char_ngram`, whitespace removed) when the document's dominant script is written without spaces
(`pipelines.scripts.is_unspaced`: Han, kana, Thai, Khmer, Lao, Myanmar, Tibetan) — chosen by script,
never by a language list. Short-document rule: a document with fewer tokens than n yields exactly one
shingle, its whole token sequence, so short near-identical documents still collide. A document with no
token at all yields no shingle and is never anyone's near-duplicate.

Hashing (all arithmetic wraps mod 2^64; a Python call per token, e.g. xxhash per word, would dominate
the run time, so one set of numpy calls covers the whole batch):

- token c_0..c_{L-1} (normalized code points): p = Σ c_k·B^k (polynomial, fixed odd base B),
  token hash t = mix(p + L·C_LEN xor seed), mix = the splitmix64 finalizer (a bijection). The sums
  come from one prefix sum of c_i·B^i over the batch, rescaled per token by B^-start (B is odd, so
  invertible): one multiply per character instead of a full mix per character.
- shingle of tokens t_0..t_{k-1} (k = n, or fewer for a short document):
  h = mix(Σ t_j·W_j xor seed xor k), W_j fixed odd constants, one per position (order matters).

Collisions stay negligible: distinct shingles collide only if their weighted sums do. The t_j are
mixed, effectively uniform 64-bit values, and a sum differing in a term t_j·W_j (W_j odd) is uniform
again, so two distinct shingles share h with probability ~2^-64 — ~2^-62 for the same tokens in swapped
positions (W_i − W_j has at most 4 trailing zero bits for n = 5). Token sums p are not a universal
family (B is fixed): strings built to collide exist (Thue–Morse pairs, thousands of characters
long), but natural tokens are short and p behaves like a random 64-bit value; a billion distinct
tokens give an expected ~0.03 colliding pairs, and one collision merges only the shingles that
contain those two tokens. MinHash then folds h to 32 bits (see `minhash`), the dominant, still
negligible, collision term.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from pipelines.codepoints import CodepointTable, codepoints
from pipelines.scripts import dominant_from_counts, is_unspaced, script_counts_batch

U64 = np.uint64
_SCRIPT_LIMIT = 4000  # same sample size as pipelines.scripts.dominant_script
_ASCII_LETTER = re.compile("[A-Za-z]")

_BASE = U64(0x9E3779B97F4A7C15)  # polynomial base of token hashes (odd)
_BASE_INV = U64(pow(int(_BASE), -1, 2**64))
_C_LEN = U64(0xC2B2AE3D27D4EB4F)  # token length term
_C_GRAM = U64(0x165667B19E3779F9)  # seeds the n-gram position weights


def mix64(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """splitmix64 finalizer over a uint64 array (a bijection with good avalanche); `out=x` mixes in place."""
    if out is None:
        x = x.copy()
    elif out is not x:
        np.copyto(out, x)
        x = out
    t = x >> U64(30)
    x ^= t
    x *= U64(0xBF58476D1CE4E5B9)
    x ^= np.right_shift(x, U64(27), out=t)
    x *= U64(0x94D049BB133111EB)
    x ^= np.right_shift(x, U64(31), out=t)
    return x


def _gram_weights(n: int) -> np.ndarray:
    """W_0..W_{n-1}: fixed odd 64-bit multipliers, one per position in an n-gram (order matters)."""
    return mix64(np.arange(1, n + 1, dtype=U64) * _C_GRAM) | U64(1)


_POW_CACHE = 1 << 21  # table entries kept between batches (2 × 16 MiB); longer batches compute their own
_pow_table: tuple[np.ndarray, np.ndarray] = (np.ones(1, dtype=U64), np.ones(1, dtype=U64))


def _powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(B^i, B^-i) mod 2^64 for i < size (B odd, so invertible mod 2^64)."""
    global _pow_table
    if _pow_table[0].size >= size:
        return _pow_table
    k = max(size, min(2 * _pow_table[0].size, _POW_CACHE))
    pw, inv = np.full(k, _BASE, dtype=U64), np.full(k, _BASE_INV, dtype=U64)
    pw[0] = inv[0] = 1
    table = (np.cumprod(pw, out=pw), np.cumprod(inv, out=inv))  # wraps mod 2^64
    if k <= _POW_CACHE:
        _pow_table = table  # one assignment: other threads see the old or the new pair, both valid
    return table


def _lower_word(c: int) -> int:
    """Simple lowercase mapping of a code point if the result is a word character (letter, mark,
    number), else 0. Per code point, so the whole text is normalized by one table lookup."""
    low = chr(c).lower()[0]  # U+0130 is the only code point whose lowercase has 2 chars: keep "i"
    return ord(low) if unicodedata.category(low)[0] in "LMN" else 0


_NORM = CodepointTable(_lower_word, dtype=np.uint32)  # 4.4 MB


def normalize(text: str) -> str:
    """Lowercase, non-word characters → space, whitespace collapsed to single spaces, stripped."""
    cp = _NORM(codepoints(text))
    cp[cp == 0] = 32
    return " ".join(cp.tobytes().decode("utf-32-le", "surrogatepass").split())


def text_scripts(texts: list[str]) -> list[str]:
    """`pipelines.scripts.dominant_script` of each text, by table lookup over the whole batch instead of
    a per-character Python loop (~100x faster)."""
    out = ["Zyyy"] * len(texts)
    rest = []
    for i, t in enumerate(texts):
        if t.isascii():  # ASCII letters are all Latin: one letter makes the text Latin
            out[i] = "Latn" if _ASCII_LETTER.search(t, 0, _SCRIPT_LIMIT) else "Zyyy"
        else:
            rest.append(i)
    if rest:
        counts = script_counts_batch([texts[i] for i in rest], _SCRIPT_LIMIT)
        for c, i in zip(counts, rest, strict=True):
            out[i] = dominant_from_counts(c)
    return out


def char_mode(texts: list[str]) -> list[bool]:
    """Per text: character n-grams (dominant script written without spaces) or word n-grams."""
    return [is_unspaced(s) for s in text_scripts(texts)]


def _tokens(cp: np.ndarray, chars_as_tokens: bool, seed: U64) -> tuple[np.ndarray, np.ndarray]:
    """Token hashes of normalized code points (0 = no word character; 0 at both ends) and each
    token's first code point index. A token is a maximal run of word characters, or one of them."""
    word = cp != 0
    if chars_as_tokens:
        starts = np.flatnonzero(word)
        poly, lens = cp[starts].astype(U64), U64(1)
    else:
        edges = np.flatnonzero(word[1:] != word[:-1])  # last char before each start / each end
        pw, inv = _powers(cp.size)
        # Prefix sums of cp_i·B^i over the whole batch; a token's sum is rescaled by B^-start so the
        # same word hashes alike wherever it occurs. One multiply per character, one per token.
        acc = np.multiply(cp, pw[: cp.size], dtype=U64)
        np.cumsum(acc, out=acc)
        at = np.take(acc, edges)  # prefix sums just before each token and at its last character
        starts = edges[0::2] + 1
        poly = at[1::2] - at[0::2]
        poly *= np.take(inv, starts)
        lens = (edges[1::2] + 1 - starts).astype(U64)
    poly += lens * _C_LEN
    poly ^= seed
    return mix64(poly, out=poly), starts


def _shingles(
    tok: np.ndarray, first: np.ndarray, count: np.ndarray, n: int, seed: U64
) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes from token hashes (documents are runs `first[d] : first[d] + count[d]` of `tok`):
    flat array + per-document offsets. Shingle of tokens t_0..t_{k-1} = mix(Σ t_j·W_j ^ seed ^ k)."""
    w = _gram_weights(n)
    n_sh = np.where(count >= n, count - n + 1, np.minimum(count, 1))
    offsets = np.r_[0, np.cumsum(n_sh)]
    m = tok.size - n + 1
    if m > 0:  # every n-window of the batch, then drop those crossing a document end
        acc = tok[:m] * w[0]
        tmp = np.empty_like(acc)
        for j in range(1, n):  # n is small: one vector op per position over all windows
            acc += np.multiply(tok[j : j + m], w[j], out=tmp)
        valid = np.ones(m, dtype=bool)
        end = first + count
        for j in range(1, n):  # the last n-1 window starts of each document cross its end
            i = end - j
            valid[i[(i >= first) & (i < m)]] = False
        acc = acc[valid]
        acc ^= seed ^ U64(n)
        win = mix64(acc, out=acc)
    else:
        win = np.empty(0, dtype=U64)
    short = np.flatnonzero((count > 0) & (count < n))
    if not short.size:
        return win, offsets
    # short-document rule: one shingle of the whole token sequence, same formula with k < n terms
    f, k = first[short], count[short]
    acc = np.zeros(short.size, dtype=U64)
    for j in range(n - 1):
        sel = k > j
        acc[sel] += tok[f[sel] + j] * w[j]
    acc ^= seed ^ k.astype(U64)
    out = np.empty(int(offsets[-1]), dtype=U64)
    at_short = np.zeros(out.size, dtype=bool)
    at_short[offsets[short]] = True
    out[~at_short] = win
    out[offsets[short]] = mix64(acc, out=acc)
    return out, offsets


def _batch_group(texts: list[str], n: int, chars_as_tokens: bool, seed: U64) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of documents sharing one mode: flat array + per-document offsets."""
    # "\n" is no word character: tokens never span two documents, and one sits at either end
    cp = _NORM(codepoints("\n" + "\n".join(texts) + "\n"))
    tok, where = _tokens(cp, chars_as_tokens, seed)
    doc_starts = np.cumsum([1] + [len(t) + 1 for t in texts[:-1]])
    first = np.searchsorted(where, doc_starts)  # each document's first token
    count = np.diff(np.r_[first, tok.size])
    return _shingles(tok, first, count, n, seed)


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
        if len(idx) == len(texts):  # one mode for the whole batch: already in batch order
            return _batch_group(texts, n, mode, s)
        if idx:
            flat, off = _batch_group([texts[i] for i in idx], n, mode, s)
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
