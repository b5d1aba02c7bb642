"""Text normalization (what documents keep) and the line dedup key (what line dedup compares).

normalize_text: NFC, mojibake repaired (ftfy), control / invisible formatting characters removed,
whitespace collapsed per line, runs of blank lines collapsed to one (paragraph breaks survive).
dedup_key: CCNet-style normal form of a line — lowercase, accents stripped, digits → 0, punctuation
and symbols removed, whitespace collapsed — so boilerplate differing only in dates, counters or
punctuation is still recognized as the same line.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy
import numpy as np

from pipelines.codepoints import CodepointTable, codepoints, from_codepoints

# Control characters and invisible formatting characters that only disturb matching: zero-width
# space, word joiner, BOM, soft hyphen, bidi marks/embeddings/isolates. Line breaks (\n \r \v \f
# \x1c-\x1e \x85) are left to str.splitlines and tabs to str.split. ZWJ/ZWNJ (U+200C/U+200D) are kept
# on purpose: they change spelling in Persian and Indic scripts and form emoji sequences.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u00ad\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]"
)

# UTF-8 read as Latin-1/cp1252 leaves a lead byte (Â..ô) followed by a continuation byte (0x80-0xBF
# or its cp1252 glyph). Correct text almost never has that pair, so only such texts pay for ftfy.
_MOJIBAKE_HINT = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)
_SURROGATES = re.compile("[\ud800-\udfff]")


_K_KEEP, _K_DROP, _K_SPACE, _K_ZERO = 0, 1, 2, 3
_K_REPLACE = np.array([0, 0, 32, 48], dtype="<u4")  # code point written for SPACE / ZERO


def _key_kind(cp: int) -> int:
    """dedup_key's treatment of one code point (after lowercase + NFD): accents (Mn) dropped,
    punctuation and symbols → space, digits → 0."""
    cat = unicodedata.category(chr(cp))
    if cat == "Mn":
        return _K_DROP
    if cat[0] in "PS":
        return _K_SPACE
    if cat == "Nd":
        return _K_ZERO
    return _K_KEEP


_KEY_KIND = CodepointTable(_key_kind)


class _KeyMap(dict):
    """str.translate table for dedup_key, filled lazily per code point from _key_kind (a dict lookup
    per character is far faster than a regex over every Unicode punctuation range)."""

    def __missing__(self, cp: int) -> str | None:
        kind = _key_kind(cp)
        value = None if kind == _K_DROP else chr(cp) if kind == _K_KEEP else chr(_K_REPLACE[kind])
        self[cp] = value
        return value


_KEY_MAP = _KeyMap()


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 decoded with the wrong codec (ftfy), only where the text shows signs of it."""
    if text.isascii() or not _MOJIBAKE_HINT.search(text):
        return text
    return ftfy.fix_encoding(text)


def normalize_text(text: str) -> str:
    """The normalized document text (see module doc). Empty string when nothing is left."""
    text = _SURROGATES.sub("", text)  # lone surrogates (from JSON escapes) cannot be encoded
    text = fix_mojibake(text)
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    out: list[str] = []
    blank = True  # drops leading blank lines
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            out.append(line)
            blank = False
        elif not blank:
            out.append("")
            blank = True
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def split_lines(text: str) -> list[str]:
    """Lines of a normalized text, blank paragraph separators included (index = line number)."""
    return text.split("\n") if text else []


def join_lines(lines: list[str]) -> str:
    """Inverse of split_lines after some lines were removed: blank runs collapse again."""
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def dedup_key(line: str) -> str:
    """CCNet-style normal form of a line for exact dedup (see module doc)."""
    return " ".join(unicodedata.normalize("NFD", line.lower()).translate(_KEY_MAP).split())


def dedup_keys(text: str) -> list[str]:
    """dedup_key of every line of a normalized text (index = line number, as split_lines), computed
    for the whole text at once: lower/NFD/class lookup run once over the text, not once per line.
    lower() and NFD give the same result per line as over the joined text ("\n" is neither cased nor
    a combining character, so neither final-sigma nor canonical reordering crosses it)."""
    if not text:
        return []
    cp = codepoints(unicodedata.normalize("NFD", text.lower()))
    kind = _KEY_KIND(cp)
    cp = np.where(kind >= _K_SPACE, _K_REPLACE.take(kind), cp)
    keys = from_codepoints(cp[kind != _K_DROP] if kind.any() else cp)
    return [" ".join(ln.split()) for ln in keys.split("\n")]
