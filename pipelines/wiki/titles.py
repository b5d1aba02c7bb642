"""MediaWiki page titles: normalization and what kind of page a link points to.

MediaWiki stores a title with spaces (not underscores), collapsed whitespace, and an upper-case first
letter ($wgCapitalLinks, the default on Wikipedia). A link target may carry a `#fragment` (a section),
a leading `:` (link to a category/file page instead of using it), a namespace (`File:`, `Category:`)
or an interwiki/interlanguage prefix (`de:`, `wikt:`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import unquote

_SPACES = re.compile(r"[\s_\u00a0\u200e\u200f]+")

# Canonical English namespace names and their aliases (lower-case); siteinfo adds the dump's own.
DEFAULT_NAMESPACES: dict[str, int] = {
    "media": -2, "special": -1, "talk": 1, "user": 2, "user talk": 3, "wikipedia": 4, "project": 4,
    "wp": 4, "wikipedia talk": 5, "file": 6, "image": 6, "file talk": 7, "image talk": 7, "mediawiki": 8,
    "mediawiki talk": 9, "template": 10, "template talk": 11, "help": 12, "help talk": 13, "category": 14,
    "category talk": 15, "portal": 100, "portal talk": 101, "draft": 118, "draft talk": 119,
    "timedtext": 710, "module": 828, "module talk": 829,
}
FILE_NS, CATEGORY_NS = 6, 14

# An interwiki/interlanguage prefix as written in links: lower-case letters, digits and dashes
# (`de`, `zh-yue`, `simple`, `wikt`). Article titles are upper-case first, so `[[de:Berlin]]` is
# never an article in namespace 0.
_INTERWIKI = re.compile(r"^[a-z][a-z0-9-]{0,15}$")


def upper_first(s: str) -> str:
    """Upper-case the first character the way MediaWiki does (one-to-one case mappings only)."""
    if not s:
        return s
    up = s[0].upper()
    return (up if len(up) == 1 else s[0]) + s[1:]


def normalize_title(title: str) -> str:
    """Normalize a page title or link target to its canonical form (namespace 0 rules).

    Decodes HTML entities and %-escapes, turns underscores into spaces, collapses whitespace, drops a
    `#fragment` and a leading `:`, and upper-cases the first letter. "" when nothing is left.
    """
    t = html.unescape(title)
    if "%" in t:
        t = unquote(t)
    t = t.split("#", 1)[0]
    t = _SPACES.sub(" ", t).strip()
    t = t.lstrip(":").strip()
    return upper_first(t)


@dataclass(frozen=True)
class LinkTarget:
    kind: str  # article | file | category | interwiki | other_namespace | colon_link | self_section | empty
    title: str  # normalized title ("" for self_section/empty)
    fragment: str  # the #fragment, "" when none


def classify_link(target: str, namespaces: dict[str, int] | None = None) -> LinkTarget:
    """What a `[[target]]` link points to. `namespaces` maps lower-case namespace names → ids."""
    ns = namespaces or DEFAULT_NAMESPACES
    raw = html.unescape(target).strip()
    if "%" in raw:
        raw = unquote(raw)
    base, _, fragment = raw.partition("#")
    fragment = fragment.strip()
    if not base.strip():
        return LinkTarget("self_section" if fragment else "empty", "", fragment)
    colon = base.lstrip().startswith(":")
    body = base.lstrip().lstrip(":")
    prefix, sep, rest = body.partition(":")
    if sep:
        key = _SPACES.sub(" ", prefix).strip().lower()
        if key in ns:
            number = ns[key]
            if colon:  # [[:Category:X]] / [[:File:X]]: a visible link to that page, not an entity
                return LinkTarget("colon_link", normalize_title(body), fragment)
            if number == FILE_NS or number == -2:
                return LinkTarget("file", normalize_title(rest), fragment)
            if number == CATEGORY_NS:
                return LinkTarget("category", normalize_title(rest), fragment)
            return LinkTarget("other_namespace", normalize_title(body), fragment)
        if _INTERWIKI.match(prefix.strip()):
            return LinkTarget("interwiki", normalize_title(rest), fragment)
    title = normalize_title(body)
    if not title:
        return LinkTarget("empty", "", fragment)
    return LinkTarget("article", title, fragment)


def namespaces_from_siteinfo(names: dict[str, int]) -> dict[str, int]:
    """Merge a dump's siteinfo namespace names (any case, `_` or space) into the defaults."""
    out = dict(DEFAULT_NAMESPACES)
    for name, number in names.items():
        if name and number != 0:
            out[_SPACES.sub(" ", name).strip().lower()] = number
    return out
