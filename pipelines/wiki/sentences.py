"""Sentence splitting that never cuts an anchor, and the EntityCS sentence filters.

The splitter is rule-based (no model to ship to workers): a boundary is sentence-final punctuation
(. ! ? and the CJK 。！？) plus closing quotes/brackets, followed by whitespace and an upper-case
letter, digit or opening quote — or, for CJK punctuation, by anything. A boundary is refused when it
falls strictly inside an anchor ("[[U.S. Army]]", "[[Washington, D.C.]]"), after a known
abbreviation ("Dr.", "e.g.", "No.") or after a single-letter initial ("J. R. R. Tolkien").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Anchor = tuple[int, int, str]

ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt ft no nos vol vols pp pg ch sec fig figs op cf vs etc al approx ca "
    "inc ltd co corp bros dept est gen gov col lt capt sgt rev hon jan feb mar apr jun jul aug sep sept "
    "oct nov dec e.g i.e u.s u.k u.n a.d b.c b.c.e c.e p.m a.m ph.d m.d b.a m.a".split()
)
_BOUNDARY = re.compile(
    r"(?:[.!?]+[\"'”’»)\]]*(?P<ws>\s+)(?=[\"'“‘«(\[]?[0-9A-ZÀ-ÖØ-ÞĀ-ſА-ЯΑ-Ω])"
    r"|[。！？]+[」』”’）)]*(?P<cjk>\s*))"
)
_WORD_BEFORE = re.compile(r"(\S+)$")


@dataclass
class Sentence:
    text: str
    anchors: list[Anchor]


def _is_abbreviation(text: str, end: int) -> bool:
    """Whether the '.' ending at `end` belongs to an abbreviation or an initial."""
    if text[end - 1] != ".":
        return False
    m = _WORD_BEFORE.search(text, 0, end)
    if not m:
        return False
    word = m.group(1).rstrip(".").lstrip("\"'“‘«([").lower()
    if word in ABBREVIATIONS:
        return True
    return len(word) == 1 and word.isalpha()  # initials: "J. R. R. Tolkien"


def split_sentences(text: str, anchors: list[Anchor]) -> list[Sentence]:
    """Split a paragraph into sentences; anchors are re-based and never split."""
    cuts: list[tuple[int, int]] = []  # (end of sentence, start of the next)
    for m in _BOUNDARY.finditer(text):
        ws = m.group("ws") if m.group("ws") is not None else (m.group("cjk") or "")
        end = m.end() - len(ws)  # after the punctuation and closing quotes
        nxt = m.end()  # where the next sentence starts
        if nxt >= len(text):
            continue
        if any(s < end < e for s, e, _ in anchors):  # would cut an anchor in two
            continue
        if _is_abbreviation(text, _punct_end(text, end)):
            continue
        cuts.append((end, nxt))
    out: list[Sentence] = []
    start = 0
    for end, nxt in cuts + [(len(text), len(text))]:
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        s0, s1 = start + lead, start + len(piece.rstrip())
        if s1 > s0:
            inside = [(a - s0, b - s0, t) for a, b, t in anchors if a >= s0 and b <= s1]
            out.append(Sentence(text[s0:s1], inside))
        start = nxt
    return out


def _punct_end(text: str, end: int) -> int:
    """Position right after the last '.'/'!'/'?' of the boundary (before closing quotes)."""
    k = end
    while k > 0 and text[k - 1] in "\"'”’»)]":
        k -= 1
    return k


# --- EntityCS filters ---------------------------------------------------------------------------------

FILTER_REASONS = ("no_link", "too_short", "too_many_links", "link_over_half", "too_long", "table_markup")
_TABLE = re.compile(r"\{\||\|\}|\|\||!!|(?:^|\s)\|-|\b(?:rowspan|colspan|style|cellpadding|cellspacing)\s*=", re.I)


@dataclass(frozen=True)
class FilterOptions:
    min_links: int = 1  # keep sentences with at least this many links
    min_chars: int = 20  # drop sentences of this many characters or fewer
    max_links: int = 10
    max_link_fraction: float = 0.5  # drop when one link covers more than this share of the text
    max_words: int = 128


def filter_reason(text: str, anchors: list[Anchor], opts: FilterOptions = FilterOptions()) -> str | None:
    """The first EntityCS filter a sentence fails (in FILTER_REASONS order), None when kept."""
    if len(anchors) < opts.min_links:
        return "no_link"
    if len(text) <= opts.min_chars:
        return "too_short"
    if len(anchors) > opts.max_links:
        return "too_many_links"
    if any(e - s > opts.max_link_fraction * len(text) for s, e, _ in anchors):
        return "link_over_half"
    if len(text.split()) > opts.max_words:
        return "too_long"
    if _TABLE.search(text):
        return "table_markup"
    return None
