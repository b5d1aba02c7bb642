"""Per-document quality signals (the DOCUMENTS signal columns) and the filters over them.

Signals are language-aware where it matters: words are whitespace tokens in spaced scripts but
*characters* in scripts written without spaces (Han, kana, Thai, Khmer, Lao, Myanmar, Tibetan), so a
Chinese or Thai page is not "too short" for having few spaces. Combining marks (Devanagari vowel
signs, Arabic harakat) count as letters, not symbols. Default thresholds are loose on purpose:
English-tuned Gopher/C4 rules (terminal punctuation, stop words) throw away most non-English text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field, replace

from pipelines.scripts import UNSPACED_SCRIPTS, char_script


class _ClassMap(dict):
    """str.translate table: code point → one-letter class, filled lazily (one C lookup per char).

    L letter (spaced script)  U letter of an unspaced script  M mark  D digit  P punctuation
    S symbol  ' ' whitespace / line break  O anything else (private use, format chars).
    """

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if ch.isspace():
            value = " "
        elif cat[0] == "L":
            value = "U" if char_script(ch) in UNSPACED_SCRIPTS else "L"
        elif cat[0] == "M":
            value = "M"
        elif cat == "Nd":
            value = "D"
        elif cat[0] == "N":
            value = "L"  # letter-like numbers (Ⅻ, ½) behave as word characters
        elif cat[0] == "P":
            value = "P"
        elif cat[0] == "S":
            value = "S"
        else:
            value = "O"
        self[cp] = value
        return value


_CLASSES = _ClassMap()


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
        return asdict(self)


def count_words(text: str) -> int:
    """Words: whitespace tokens with a letter/digit in spaced scripts + characters of unspaced scripts."""
    return quality_signals(text).n_words


def quality_signals(text: str) -> Signals:
    """Signals of a normalized text (lines separated by \\n, blank lines are paragraph breaks)."""
    cls = text.translate(_CLASSES)
    non_space = len(cls) - cls.count(" ")
    n_unspaced = cls.count("U")
    word_chars = 0
    n_spaced = 0
    for tok in cls.replace("U", " ").split():
        if tok.strip("PSO"):  # a token of punctuation/symbols only ("—", "|", "***") is not a word
            n_spaced += 1
            word_chars += len(tok)
    n_words = n_spaced + n_unspaced
    lines = [ln for ln in text.split("\n") if ln]
    n_lines = len(lines)
    punct_end = sum(1 for ln in lines if unicodedata.category(ln[-1])[0] == "P")
    seen: set[str] = set()
    dup = 0
    for ln in lines:
        if ln in seen:
            dup += 1
        else:
            seen.add(ln)
    return Signals(
        n_chars=len(text),
        n_words=n_words,
        n_lines=n_lines,
        mean_word_len=(word_chars + n_unspaced) / n_words if n_words else 0.0,
        symbol_ratio=(cls.count("P") + cls.count("S") + cls.count("O")) / non_space if non_space else 0.0,
        digit_ratio=cls.count("D") / non_space if non_space else 0.0,
        punct_end_frac=punct_end / n_lines if n_lines else 0.0,
        dup_line_frac=dup / n_lines if n_lines else 0.0,
    )


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
