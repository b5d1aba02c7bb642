"""Wikitext → plain paragraphs with anchors kept as (start, end, target title) character spans.

What happens to each construct (mwparserfromhell node types):
  [[Title|label]]trail  → "label"+trail as an anchor to normalize_title(Title) (trail = MediaWiki's link
                          trail: lower-case letters glued to the link, "[[bus]]es" → "buses")
  [[Title#Section|x]]   → plain "x", no anchor by default (the label names a section, not the entity);
                          section_links="anchor" keeps it as an anchor to Title
  [[File:..|..|caption]] → the caption as its own paragraph (file_captions=True, the EntityCS choice:
                          "files/images → plain text"), or nothing; its links stay anchors
  [[Category:..]], [[de:..]] (interlanguage/interwiki) → removed
  [[:Category:X|y]], [[Wikipedia:..|y]] → plain text of the label, no anchor
  {{templates}}, {| tables |}, <ref>, <references/>, <math>, <gallery>, comments → removed
  headings → paragraph break (the heading text is dropped: it is not a sentence)
  list items, <br>, blank lines → paragraph break; a single newline → space
  '''bold''', ''italic'', <span>, <small> … → their text
  [http://x label] → "label"; bare URLs → removed; HTML entities → characters
Whitespace is collapsed and leftovers of removed templates ("( ; )", " ,") are cleaned, with the
anchor offsets remapped through every deletion so that text[start:end] is always the anchor's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import mwparserfromhell
from mwparserfromhell.nodes import (
    Argument,
    Comment,
    ExternalLink,
    Heading,
    HTMLEntity,
    Tag,
    Template,
    Text,
    Wikilink,
)

from pipelines.wiki.titles import classify_link

# Tags whose content is never running prose.
DROP_TAGS = frozenset(
    {"ref", "references", "table", "math", "chem", "ce", "gallery", "imagemap", "timeline", "score",
     "syntaxhighlight", "source", "pre", "code", "graph", "mapframe", "maplink", "templatedata",
     "templatestyles", "nowiki", "hiero", "inputbox", "categorytree", "noinclude", "includeonly",
     "indicator", "section", "poem", "tr", "td", "th", "caption", "style", "script"}
)
# Dropped tags that are blocks: the text before and after them are different paragraphs.
BLOCK_DROP_TAGS = frozenset({"table", "gallery", "references", "pre", "syntaxhighlight", "source", "poem",
                             "imagemap", "timeline", "graph", "score", "math"})
BREAK_TAGS = frozenset({"li", "dt", "dd", "br", "hr", "p", "div", "blockquote", "center", "ul", "ol", "dl"})
_TRAIL = re.compile(r"[a-z]+")
_MAGIC = re.compile(r"__[A-Z]{2,}__")
_PARA_BREAK = re.compile(r"\n[ \t]*\n")
_FILE_OPTION = re.compile(
    r"^\s*(thumb|thumbnail|frame|framed|frameless|border|left|right|center|centre|none|baseline|sub|super|"
    r"top|text-top|middle|bottom|text-bottom|upright(=.*)?|\d*x?\d+\s*px|(alt|link|page|class|lang|"
    r"thumbtime|start|end)=.*)\s*$",
    re.I,
)


@dataclass
class Paragraph:
    text: str
    anchors: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, normalized title)


@dataclass
class CleanOptions:
    namespaces: dict[str, int] | None = None  # lower-case namespace name → number (siteinfo + defaults)
    file_captions: bool = True
    section_links: str = "text"  # "text" | "anchor"


class _Builder:
    """Accumulates raw text pieces and anchors of the current paragraph; paragraph breaks close it."""

    def __init__(self) -> None:
        self.paragraphs: list[Paragraph] = []
        self.parts: list[str] = []
        self.pos = 0
        self.anchors: list[tuple[int, int, str]] = []
        self.serial = 0  # increases at every paragraph break, so an anchor can't span two paragraphs

    def text(self, s: str) -> None:
        s = _MAGIC.sub("", s)
        pieces = _PARA_BREAK.split(s)
        for i, piece in enumerate(pieces):
            if i:
                self.brk()
            if piece:
                piece = piece.replace("\n", " ")
                self.parts.append(piece)
                self.pos += len(piece)

    def anchor(self, start: int, end: int, title: str) -> None:
        self.anchors.append((start, end, title))

    def brk(self) -> None:
        if self.parts:
            para = _finish("".join(self.parts), self.anchors)
            if para is not None:
                self.paragraphs.append(para)
        self.parts, self.pos, self.anchors = [], 0, []
        self.serial += 1


def clean_wikitext(wikitext: str, options: CleanOptions | None = None) -> list[Paragraph]:
    """Plain-text paragraphs of an article, each with its anchors (see the module docstring)."""
    opts = options or CleanOptions()
    b = _Builder()
    _emit(mwparserfromhell.parse(wikitext, skip_style_tags=False), b, opts, anchors=True)
    b.brk()
    return b.paragraphs


def _emit(code, b: _Builder, opts: CleanOptions, anchors: bool) -> None:
    nodes = code.nodes
    skip = 0  # characters of the next Text node already used as a link trail
    for i, node in enumerate(nodes):
        if isinstance(node, Text):
            b.text(str(node.value)[skip:])
            skip = 0
            continue
        skip = 0
        if isinstance(node, Wikilink):
            skip = _emit_link(node, nodes[i + 1] if i + 1 < len(nodes) else None, b, opts, anchors)
        elif isinstance(node, Tag):
            tag = str(node.tag).strip().lower()
            if tag in DROP_TAGS:
                if tag in BLOCK_DROP_TAGS and (tag != "math" or "display" in str(node.attributes)):
                    b.brk()
                continue
            if tag in BREAK_TAGS:
                b.brk()
            if node.contents is not None and not node.self_closing:
                _emit(node.contents, b, opts, anchors)
            if tag in BREAK_TAGS and tag not in ("li", "dt", "dd", "br", "hr"):
                b.brk()
        elif isinstance(node, Heading):
            b.brk()
        elif isinstance(node, HTMLEntity):
            b.text(node.normalize().replace("\u00a0", " "))
        elif isinstance(node, ExternalLink):
            if node.title is not None:  # bracketed [url label]: keep the label
                _emit(node.title, b, opts, anchors=False)
        elif isinstance(node, (Template, Comment, Argument)):
            continue
        # any other node type (none in 0.7.2) contributes nothing


def _emit_link(node: Wikilink, nxt, b: _Builder, opts: CleanOptions, anchors: bool) -> int:
    """Emit one [[link]]; returns how many characters of the following Text node it took as trail."""
    target = classify_link(str(node.title), opts.namespaces)
    if target.kind in ("category", "interwiki", "empty"):
        return 0
    if target.kind == "file":
        if opts.file_captions and node.text is not None:
            caption = _file_caption(node.text)
            if caption is not None:
                b.brk()
                _emit(caption, b, opts, anchors)
                b.brk()
        return 0
    is_entity = target.kind == "article" and (not target.fragment or opts.section_links == "anchor")
    start, serial = b.pos, b.serial
    if node.text is not None:
        _emit(node.text, b, opts, anchors=False)  # links inside a label are not valid wikitext
    else:
        shown = str(node.title).strip().lstrip(":")
        if target.kind == "self_section":
            shown = shown.lstrip("#")
        b.text(shown.replace("_", " ") if target.kind != "article" or not target.fragment else shown)
    used = 0
    if isinstance(nxt, Text):
        m = _TRAIL.match(str(nxt.value))
        if m:
            b.text(m.group(0))
            used = m.end()
    if anchors and is_entity and b.serial == serial and b.pos > start:
        b.anchor(start, b.pos, target.title)
    return used


def _file_caption(text):
    """The caption of [[File:x|opt|opt|caption]]: the last top-level `|` segment, unless it is an option."""
    nodes = list(text.nodes)
    cut = 0
    for i, n in enumerate(nodes):
        if isinstance(n, Text) and "|" in str(n.value):
            cut = i
    head = nodes[cut:]
    if head and isinstance(head[0], Text) and "|" in str(head[0].value):
        first = Text(str(head[0].value).rsplit("|", 1)[1])
        head = [first] + head[1:]
    caption = mwparserfromhell.wikicode.Wikicode(mwparserfromhell.smart_list.SmartList(head))
    plain = str(caption).strip()
    if not plain or _FILE_OPTION.match(plain):
        return None
    return caption


# --- whitespace / leftover cleanup with offset remapping -------------------------------------------

_EMPTY_PARENS = re.compile(r"\(\s*(?:[,;:–—-]\s*)*\)")
# "(French pronunciation: ; )" once the IPA template is gone: a dangling label ending in ':'
_DANGLING_LABEL = re.compile(r"\((?:[^()\[\]:]{0,40}):(?:\s|[,;])*\)")
_PUNCT_AFTER_OPEN = re.compile(r"(?<=\()\s*(?:[,;]\s*)+")
_PUNCT_BEFORE_CLOSE = re.compile(r"(?:\s*[,;])+\s*(?=\))")
_SPACE_BEFORE = re.compile(r" +(?=[,.;:!?)\]])")
_SPACE_AFTER_OPEN = re.compile(r"(?<=[(\[]) +")
_SPACE_RUN = re.compile(r"(?<= ) +")
_WS = re.compile(r"[\t\r\n\u00a0\u2000-\u200b\u202f\u3000]")


def _delete(text: str, anchors: list[tuple[int, int, str]], spans: list[tuple[int, int]]):
    """Delete character ranges from text and remap anchor offsets (a kept char keeps its anchor)."""
    if not spans:
        return text, anchors
    keep = [True] * len(text)
    for s, e in spans:
        for k in range(s, e):
            keep[k] = False
    prefix = [0] * (len(text) + 1)
    for k, kept in enumerate(keep):
        prefix[k + 1] = prefix[k] + kept
    new_text = "".join(ch for ch, kept in zip(text, keep, strict=True) if kept)
    return new_text, [(prefix[s], prefix[e], t) for s, e, t in anchors]


def _finish(raw: str, anchors: list[tuple[int, int, str]]) -> Paragraph | None:
    text = _WS.sub(" ", raw)  # same length: offsets unchanged
    for pattern in (_DANGLING_LABEL, _PUNCT_AFTER_OPEN, _PUNCT_BEFORE_CLOSE, _EMPTY_PARENS, _SPACE_BEFORE, _SPACE_AFTER_OPEN, _SPACE_RUN):
        spans = [m.span() for m in pattern.finditer(text)]
        # never delete a range that holds anchor text (only whitespace/punctuation leftovers go)
        spans = [(s, e) for s, e in spans if not any(a < e and s < z and text[max(a, s):min(z, e)].strip()
                                                      for a, z, _ in anchors)]
        text, anchors = _delete(text, anchors, spans)
    lead = len(text) - len(text.lstrip(" "))
    trail = len(text) - len(text.rstrip(" "))
    text, anchors = _delete(text, anchors, [(0, lead), (len(text) - trail, len(text))])
    if not text:
        return None
    out = []
    for s, e, t in anchors:
        while s < e and text[s] == " ":
            s += 1
        while e > s and text[e - 1] == " ":
            e -= 1
        if e > s:
            out.append((s, e, t))
    return Paragraph(text, out)
