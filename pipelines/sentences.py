"""Sentence boundaries in any language: ICU's sentence BreakIterator, plus this project's rules.

ICU (PyICU) implements Unicode's sentence-boundary rules (UAX #29) with CLDR's per-language data, so
the danda (।), the Arabic question mark (؟), the Urdu full stop (۔), CJK full stops (。！？), the
Ethiopic, Armenian, Burmese and Khmer stops all end sentences, and a full stop followed by a
lower-case word does not. On top of it:

- no boundary after a known abbreviation ("Dr.", "e.g.", "U.S.") or a single-letter initial
  ("J. R. R. Tolkien", "z. B."): ICU's own suppression lists are short;
- no boundary strictly inside a span the caller keeps together (wiki anchors: "[[U.S. Army]]");
- closing quotes/brackets after the boundary stay with their sentence (French « Oui ! »);
- Thai and Lao have no sentence punctuation: a space between two letters of those scripts is a
  boundary (how those texts separate sentences), as is a line break everywhere.

Offsets are code point offsets into the text (ICU counts UTF-16 units; they are converted).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence

import icu
import numpy as np

from pipelines.codepoints import codepoints
from pipelines.langcodes import UnknownLanguageError, iso639_1, to_iso639_3

Span = tuple[int, int]

ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt ft no nos vol vols pp pg ch sec fig figs op cf vs etc al approx ca "
    "inc ltd co corp bros dept est gen gov col lt capt sgt rev hon jan feb mar apr jun jul aug sep sept "
    "oct nov dec e.g i.e u.s u.k u.n a.d b.c b.c.e c.e ph.d m.d b.a m.a "
    # German, French, Spanish, Italian, Dutch, Russian: the common ones inside sentences
    "bzw usw vgl ggf evtl ca nr str hr fr mme mlle env sra srta dra pág núm sig dott sig.ra ecc blz "
    "т.е т.д т.п г гг ул им др".split()
)
# Sentence-final punctuation across scripts (also used at token level by pipelines.encode.blocks):
# Latin/Greek ; (Greek question mark), Arabic ؟ and ۔, danda । ॥, Ethiopic ። ፧, Armenian ։, Burmese ။,
# Khmer ។, Tibetan །, CJK 。！？ and their half-width forms.
SENTENCE_FINAL = ".!?;…。！？｡؟۔।॥።፧։။។།"
# Of those, the ones that end a sentence without a following space (scripts written without spaces).
UNSPACED_FINAL = "。！？｡।॥"
_CLOSING = "\"'”’»›)]}」』）】〕〉》"
_CLOSERS = "”»›)]}」』）】〕〉》"  # closing only (straight quotes open sentences as often as they close them)
_OPENERS = "([{「『（【〔〈《"  # opening only in every language (“ and « close quotes in German, Danish…)
_OPENING = "\"'“‘«‹([{"
_tls = threading.local()  # BreakIterators are not thread-safe: one per thread and locale


@functools.lru_cache(maxsize=4096)
def _iso3(lang: str | None) -> str | None:
    try:
        return to_iso639_3(lang) if lang else None
    except UnknownLanguageError:
        return None


@functools.lru_cache(maxsize=4096)
def icu_locale(lang: str | None) -> str:
    """ICU locale of a language code (``deu_Latn`` → ``de``); root ("") for none or an unknown one
    (ICU's rules hold for every language; a locale adds e.g. Greek's ';' question mark). CLDR's
    abbreviation suppressions (``@ss=standard``) stay off: their German list refuses "sagte er. Das";
    ABBREVIATIONS below is applied instead, the same for every language."""
    iso3 = _iso3(lang)
    return (iso639_1(iso3) or iso3) if iso3 else ""


def _iterator(locale: str) -> icu.BreakIterator:
    cache = getattr(_tls, "iterators", None)
    if cache is None:
        cache = _tls.iterators = {}
    bi = cache.get(locale)
    if bi is None:
        bi = cache[locale] = icu.BreakIterator.createSentenceInstance(icu.Locale(locale))
    return bi


def _icu_boundaries(text: str, lang: str | None) -> list[int]:
    """ICU's sentence boundaries (code point offsets), the end of the text included."""
    bi = _iterator(icu_locale(lang))
    bi.setText(text)
    bounds = list(bi)
    if not text.isascii() and max(text) > "\uffff":  # astral characters: UTF-16 offsets ≠ code points
        units = np.concatenate([[0], np.cumsum(1 + (codepoints(text) > 0xFFFF))])
        bounds = np.searchsorted(units, bounds).tolist()
    return bounds


# Languages writing ordinals with a full stop ("am 3. Mai", "2. světová válka"): a stop after a one-
# or two-digit number is an ordinal, not a sentence end.
ORDINAL_DOT_LANGS = frozenset("deu dan nor nob nno fin ces slk slv hrv srp bos hbs hun pol est lav lit isl fao tur".split())


def _after_abbreviation(text: str, end: int, ordinal_dot: bool = False) -> bool:
    """Whether the sentence ending at `end` (closing quotes and spaces excluded) ends in an
    abbreviation, an initial or (ordinal_dot) an ordinal number rather than a full stop."""
    k = end
    while k > 0 and text[k - 1] in _CLOSING:
        k -= 1
    if k == 0 or text[k - 1] != ".":
        return False
    start = k - 1
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    word = text[start:k - 1].lstrip(_OPENING).lower()
    if word in ABBREVIATIONS:
        return True
    if ordinal_dot and word.isdigit() and len(word) <= 2:
        return True
    return len(word) == 1 and word.isalpha()  # initials: "J. R. R. Tolkien", "z. B."


# A space between two Thai or Lao characters (both blocks hold letters, vowel signs, tone marks).
_UNPUNCTUATED_GAP = re.compile(r"(?<=[\u0E00-\u0EFF])\s+(?=[\u0E00-\u0EFF])")
_HAS_UNPUNCTUATED = re.compile(r"[\u0E00-\u0EFF]")


def _unpunctuated_breaks(text: str) -> list[int]:
    """Starts of the words after a space between two Thai/Lao characters."""
    return [m.end() for m in _UNPUNCTUATED_GAP.finditer(text)]


def _terminators() -> str:
    """Regex class of the characters after which UAX #29 may end a sentence (STerm, ATerm, line and
    paragraph separators), from ICU's own property data."""
    chars = icu.UnicodeSet("[[:Sentence_Break=STerm:][:Sentence_Break=ATerm:][:Sentence_Break=Sep:]"
                           "[:Sentence_Break=CR:][:Sentence_Break=LF:]]")
    return "".join(f"{re.escape(a)}-{re.escape(b)}" for a, b in chars.ranges())


# ICU's terminators plus SENTENCE_FINAL (locales add some: Greek ';' is a question mark in `el`).
_TERMINATOR = re.compile(f"[{_terminators()}{re.escape(SENTENCE_FINAL)}]")
_TRAILING = re.compile(f"[{_terminators()}{re.escape(SENTENCE_FINAL + _CLOSING)}\\s]*")


def _one_sentence(text: str) -> bool:
    """No boundary can fall inside `text`: no terminator before its trailing punctuation, no Thai/Lao
    space. Most lines of a crawl; answered without ICU."""
    m = _TERMINATOR.search(text)
    return (m is None or _TRAILING.fullmatch(text, m.start()) is not None) and not _HAS_UNPUNCTUATED.search(text)


def split_sentences(text: str, lang: str | None = None, keep_together: Sequence[Span] = ()) -> list[Span]:
    """(start, end) of each sentence of `text`, in order, without surrounding whitespace.

    lang: the text's language (``deu_Latn``, ``de``, ``deu`` or None) for ICU's per-language data.
    keep_together: spans no boundary may fall strictly inside (e.g. wiki anchors)."""
    if not text.strip():
        return []
    if _one_sentence(text):
        spans: list[Span] = []
        _append(spans, text, 0, len(text))
        return spans
    ordinal_dot = _iso3(lang) in ORDINAL_DOT_LANGS
    cuts = set(_icu_boundaries(text, lang))
    if _HAS_UNPUNCTUATED.search(text):
        cuts.update(_unpunctuated_breaks(text))
    cuts.discard(0)
    cuts.add(len(text))
    spans = []
    start = 0
    for cut in sorted(cuts):
        end = _before_opening(text, _past_closing(text, cut), start)
        if end <= start:
            continue
        body_end = end
        while body_end > start and text[body_end - 1].isspace():
            body_end -= 1
        if end < len(text) and (any(s < body_end < e or s < end < e for s, e in keep_together)
                                or _after_abbreviation(text, body_end, ordinal_dot)):
            continue
        _append(spans, text, start, end)
        start = end
    if start < len(text):
        _append(spans, text, start, len(text))
    return spans


def _past_closing(text: str, cut: int) -> int:
    """`cut`, moved past closing marks that stand alone after it (« Bonjour ! » Puis…): they close
    the sentence before. A mark glued to the next word opens that one (German »Hallo«)."""
    end = cut
    while end < len(text) and text[end] in _CLOSERS:
        end += 1
    return end if end > cut and (end == len(text) or text[end].isspace()) else cut


def _before_opening(text: str, cut: int, start: int) -> int:
    """`cut`, moved before opening brackets glued to its left: UAX #29 counts them as closing
    punctuation, so ICU gives "です。「" | "東京タワー」…"; the bracket opens the next sentence."""
    while cut > start and text[cut - 1] in _OPENERS:
        cut -= 1
    return cut


def _append(spans: list[Span], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    a = start + len(piece) - len(piece.lstrip())
    b = start + len(piece.rstrip())
    if b > a:
        spans.append((a, b))


def sentences(text: str, lang: str | None = None) -> list[str]:
    """The sentences of `text` as strings (see split_sentences)."""
    return [text[a:b] for a, b in split_sentences(text, lang)]
