"""Per-document quality signals (the DOCUMENTS signal columns) and the filters over them.

Signals are language-aware where it matters: words are whitespace tokens in spaced scripts but
*characters* in scripts written without spaces (Han, kana, Thai, Khmer, Lao, Myanmar, Tibetan), so a
Chinese or Thai page is not "too short" for having few spaces. Combining marks (Devanagari vowel
signs, Arabic harakat) count as letters, not symbols. Default thresholds are loose on purpose:
English-tuned Gopher/C4 rules (terminal punctuation, stop words) throw away most non-English text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace

import numpy as np

from pipelines.codepoints import CodepointTable, codepoints
from pipelines.scripts import UNSPACED_SCRIPTS, char_script

# Character classes (one lookup per code point, see _char_class).
_SPACE, _LETTER, _UNSPACED, _MARK, _DIGIT, _PUNCT, _SYMBOL, _OTHER = range(8)
_N_CLASSES = 8


def _char_class(cp: int) -> int:
    """L letter (spaced script)  U letter of an unspaced script  M mark  D digit  P punctuation
    S symbol  space (whitespace / line break)  O anything else (private use, format chars)."""
    ch = chr(cp)
    cat = unicodedata.category(ch)
    if ch.isspace():
        return _SPACE
    if cat[0] == "L":
        return _UNSPACED if char_script(ch) in UNSPACED_SCRIPTS else _LETTER
    if cat[0] == "M":
        return _MARK
    if cat == "Nd":
        return _DIGIT
    if cat[0] == "N":
        return _LETTER  # letter-like numbers (Ⅻ, ½) behave as word characters
    if cat[0] == "P":
        return _PUNCT
    if cat[0] == "S":
        return _SYMBOL
    return _OTHER


_CLASSES = CodepointTable(_char_class)
# Per class: part of a whitespace token (everything but space and unspaced letters, which are words
# on their own) / makes a token a word (a token of punctuation/symbols only — "—", "|" — is not).
_IN_TOKEN = np.array([c not in (_SPACE, _UNSPACED) for c in range(_N_CLASSES)])
_WORDISH = np.array([c in (_LETTER, _MARK, _DIGIT) for c in range(_N_CLASSES)])


@dataclass
class Signals:
    n_chars: int
    n_words: int
    n_lines: int
    mean_word_len: float
    symbol_ratio: float
    digit_ratio: float
    punct_end_frac: float
    dup_line_frac: float

    def as_dict(self) -> dict:
        # Spelled out: dataclasses.asdict deep-copies recursively and costs ~30 µs per call.
        return {"n_chars": self.n_chars, "n_words": self.n_words, "n_lines": self.n_lines,
                "mean_word_len": self.mean_word_len, "symbol_ratio": self.symbol_ratio,
                "digit_ratio": self.digit_ratio, "punct_end_frac": self.punct_end_frac,
                "dup_line_frac": self.dup_line_frac}


def quality_signals(text: str) -> Signals:
    """Signals of a normalized text (lines separated by \\n, blank lines are paragraph breaks)."""
    return quality_signals_batch([text])[0]


def quality_signals_batch(texts: list[str]) -> list[Signals]:
    """quality_signals of many texts with one set of numpy calls over their concatenation (texts are
    joined by "\\n", a space class, so no token or line crosses from one text into the next)."""
    if not texts:
        return []
    n = len(texts)
    lens = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    cp = codepoints("\n".join(texts))
    cls = _CLASSES(cp).astype(np.int64)
    # Text of every position; the separators belong to an extra row n that is dropped.
    ids = np.full(2 * n - 1, n)
    ids[0::2] = np.arange(n)
    reps = np.ones(2 * n - 1, dtype=np.int64)
    reps[0::2] = lens
    doc = np.repeat(ids, reps)
    per_class = np.bincount(doc * _N_CLASSES + cls, minlength=(n + 1) * _N_CLASSES).reshape(n + 1, _N_CLASSES)
    # Whitespace tokens: maximal runs of in-token classes; a word when one of its chars is wordish.
    in_tok = _IN_TOKEN[cls]
    starts = in_tok & ~np.r_[False, in_tok[:-1]]
    tok_id = np.cumsum(starts)[in_tok] - 1
    tok_len = np.bincount(tok_id)
    tok_word = np.bincount(tok_id, weights=_WORDISH[cls[in_tok]]) > 0
    tok_doc = doc[starts]
    n_spaced = np.bincount(tok_doc, weights=tok_word, minlength=n)
    word_chars = np.bincount(tok_doc, weights=tok_len * tok_word, minlength=n)
    # Last character of each non-empty line: not a "\\n", and followed by one (or by the end).
    nl = cp == 10
    ends = np.flatnonzero(~nl & np.r_[nl[1:], True])
    n_lines = np.bincount(doc[ends], minlength=n)
    punct_end = np.bincount(doc[ends], weights=cls[ends] == _PUNCT, minlength=n)
    out = []
    for i, text in enumerate(texts):
        c = per_class[i].tolist()
        non_space = len(text) - c[_SPACE]
        n_unspaced = c[_UNSPACED]
        n_words = int(n_spaced[i]) + n_unspaced
        lines = int(n_lines[i])
        out.append(Signals(
            n_chars=len(text),
            n_words=n_words,
            n_lines=lines,
            mean_word_len=(int(word_chars[i]) + n_unspaced) / n_words if n_words else 0.0,
            symbol_ratio=(c[_PUNCT] + c[_SYMBOL] + c[_OTHER]) / non_space if non_space else 0.0,
            digit_ratio=c[_DIGIT] / non_space if non_space else 0.0,
            punct_end_frac=int(punct_end[i]) / lines if lines else 0.0,
            dup_line_frac=_dup_lines(text) / lines if lines else 0.0,
        ))
    return out


def _dup_lines(text: str) -> int:
    """Non-empty lines that repeat an earlier line of the same text."""
    lines = [ln for ln in text.split("\n") if ln]
    return len(lines) - len(set(lines))


@dataclass(frozen=True)
class QualityFilters:
    """Thresholds; None switches a filter off. Reasons are the rejects/counter names."""

    min_chars: int | None = 50  # too_short
    min_words: int | None = 10  # too_short (characters in unspaced scripts)
    max_symbol_ratio: float | None = 0.3  # too_many_symbols (punctuation + symbols / non-space chars)
    max_digit_ratio: float | None = 0.3  # too_many_digits
    max_dup_line_frac: float | None = 0.5  # too_many_dup_lines (lines repeated inside the document)
    min_mean_word_len: float | None = None  # bad_word_length (spaced scripts only)
    max_mean_word_len: float | None = 30.0  # bad_word_length: base64 blobs, URLs glued together
    min_punct_end_frac: float | None = None  # too_few_punct_lines: off (Thai, lists, many languages)
    per_lang: dict[str, dict] = field(default_factory=dict)  # lang → {field: value} overrides

    def for_lang(self, lang: str) -> QualityFilters:
        over = self.per_lang.get(lang)
        return replace(self, **over) if over else self


def quality_reason(sig: Signals, lang: str, filters: QualityFilters) -> str | None:
    """The first filter a document fails (its drop reason), or None when it passes."""
    f = filters.for_lang(lang)
    if (f.min_chars is not None and sig.n_chars < f.min_chars) or (
        f.min_words is not None and sig.n_words < f.min_words
    ):
        return "too_short"
    if f.max_symbol_ratio is not None and sig.symbol_ratio > f.max_symbol_ratio:
        return "too_many_symbols"
    if f.max_digit_ratio is not None and sig.digit_ratio > f.max_digit_ratio:
        return "too_many_digits"
    if f.max_dup_line_frac is not None and sig.dup_line_frac > f.max_dup_line_frac:
        return "too_many_dup_lines"
    script = lang.rsplit("_", 1)[-1]
    if script not in UNSPACED_SCRIPTS:
        if (f.min_mean_word_len is not None and sig.mean_word_len < f.min_mean_word_len) or (
            f.max_mean_word_len is not None and sig.mean_word_len > f.max_mean_word_len
        ):
            return "bad_word_length"
    if f.min_punct_end_frac is not None and sig.punct_end_frac < f.min_punct_end_frac:
        return "too_few_punct_lines"
    return None
