"""Sentence splitting that never cuts an anchor, and the EntityCS sentence filters.

Sentences come from pipelines.sentences (ICU's sentence rules for the article's language, plus the
abbreviation/initial rules), with every anchor kept together: a boundary strictly inside an anchor
("[[U.S. Army]]", "[[Washington, D.C.]]") is refused. Works for any `source_lang`: danda, Arabic
question mark, CJK full stops, Thai spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipelines.sentences import split_sentences as sentence_spans

Anchor = tuple[int, int, str]


@dataclass
class Sentence:
    text: str
    anchors: list[Anchor]


def split_sentences(text: str, anchors: list[Anchor], lang: str | None = None) -> list[Sentence]:
    """Split a paragraph of language `lang` (xxx_Scrp) into sentences; anchors are re-based and
    never split."""
    out: list[Sentence] = []
    for s0, s1 in sentence_spans(text, lang, keep_together=[(a, b) for a, b, _ in anchors]):
        inside = [(a - s0, b - s0, t) for a, b, t in anchors if a >= s0 and b <= s1]
        out.append(Sentence(text[s0:s1], inside))
    return out


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
