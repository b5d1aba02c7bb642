"""Streaming reader of the Wikidata JSON dump (`latest-all.json.bz2` / `.gz`).

The dump is one JSON array with one entity per line: `[`, then `{...},` lines, then `]`. Lines are
read from a decompressing stream one at a time (never the whole dump); each entity line is parsed on
its own, so a malformed line is reported with its line number and the rest is still read.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from pipelines.wiki.dump import decompressing, open_raw
from pipelines.wiki.titles import normalize_title


class MalformedLine(ValueError):
    """An entity line that is not a JSON object of an entity."""


@dataclass
class Entity:
    qid: str
    sitelink: str | None  # normalized title on the configured wiki, None when the item has none
    labels: dict[str, str] = field(default_factory=dict)  # wikidata language code → label


def iter_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, raw line) of every line of a (compressed) dump, streamed.

    Lines stay bytes: a line that is not UTF-8 is one malformed line, not the end of the file.
    """
    from pipelines.wiki.dump import DumpError

    n = 0
    try:
        with open_raw(path) as raw:
            for n, line in enumerate(decompressing(raw, path), 1):
                yield n, line
    except (EOFError, OSError, zlib.error) as e:
        raise DumpError(f"{path}: the compressed dump is truncated or corrupt after line {n} ({e}); re-download it") from e


def is_framing(line: bytes) -> bool:
    """The array brackets and blank lines around the entities (not records)."""
    return line.strip() in (b"", b"[", b"]", b"],")


def parse_entity_line(line: bytes | str, sitelink_wiki: str = "enwiki", use_aliases: bool = False) -> Entity:
    """Parse one entity line (trailing comma allowed). Raises MalformedLine.

    Labels only by default (EntityCS); use_aliases=True fills a language with no label from its first
    alias.
    """
    s = line.strip()
    if s[-1:] in (",", b","):
        s = s[:-1]
    try:
        obj = json.loads(s)
    except json.JSONDecodeError as e:
        raise MalformedLine(f"invalid JSON: {e.msg} at column {e.colno}") from e
    except UnicodeDecodeError as e:
        raise MalformedLine(f"not UTF-8: {e.reason} at byte {e.start}") from e
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise MalformedLine("not an entity object (no string 'id')")
    labels: dict[str, str] = {}
    raw_labels = obj.get("labels") or {}
    if not isinstance(raw_labels, dict):
        raise MalformedLine("'labels' is not an object")
    for lang, v in raw_labels.items():
        if isinstance(v, dict) and isinstance(v.get("value"), str) and v["value"].strip():
            labels[lang] = v["value"].strip()
    if use_aliases:
        for lang, vs in (obj.get("aliases") or {}).items():
            if lang not in labels and isinstance(vs, list) and vs and isinstance(vs[0], dict):
                value = vs[0].get("value")
                if isinstance(value, str) and value.strip():
                    labels[lang] = value.strip()
    sitelink = None
    links = obj.get("sitelinks") or {}
    if isinstance(links, dict):
        link = links.get(sitelink_wiki)
        if isinstance(link, dict) and isinstance(link.get("title"), str):
            sitelink = normalize_title(link["title"]) or None
    return Entity(obj["id"], sitelink, labels)


def check_wikidata(path: str, sitelink_wiki: str = "enwiki") -> None:
    """Raise DumpError unless the file starts like a Wikidata JSON dump (`[` or an entity line)."""
    from pipelines.wiki.dump import DumpError

    try:
        for _, line in iter_lines(path):
            if is_framing(line):
                continue
            try:
                parse_entity_line(line, sitelink_wiki)
            except MalformedLine as e:
                raise DumpError(
                    f"{path}: not a Wikidata JSON dump (first entity line: {e}); wiki.wikidata.inputs needs "
                    "latest-all.json[.bz2|.gz] style files (one entity per line)"
                ) from e
            return
    except (EOFError, OSError) as e:
        raise DumpError(f"{path}: cannot read the Wikidata dump ({e}); re-download it") from e
