"""Reader of the Wikidata JSON dump (`latest-all.json.bz2` / `.gz` / `.json`), split for many workers.

The dump is one JSON array with one entity per line: `[`, then `{...},` lines, then `]`. Each entity
line is parsed on its own (orjson), so a malformed line is reported with where it is and the rest
is still read.

How the work is split (`plan_splits`, one `Split` per task; `read_split` reads one):

- plain `.json` / line-oriented files: byte ranges of `split_bytes`;
- multi-stream `.bz2` (pbzip2 style: many concatenated bz2 streams): byte ranges too; a range
  holds the streams that *start* in it — found by scanning for the stream magic (`BZh1-9` + the
  block magic 0x314159265359) and verified by decompressing the first block — and decompresses
  them, continuing into the next stream only to finish its last line;
- `.gz` and single-stream `.bz2`: one task per file (neither can be entered in the middle; a
  single stream costs one worker for the whole file, see docs/wiki.md).

Every range follows one rule in its (decompressed) bytes: range (start, end] owns the lines that
begin in it — it skips to just after the first newline at or after its start (the first range starts
at byte 0) and reads through the first newline at or after its end. Consecutive ranges therefore
read every line exactly once, whichever byte a boundary falls on.
"""

from __future__ import annotations

import bz2
import itertools
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import orjson

from pipelines.wiki.dump import decompressing, file_size, open_raw
from pipelines.wiki.titles import normalize_title

DEFAULT_SPLIT_BYTES = 64 * 1024 * 1024
BZ2_BLOCK_MAGIC = bytes.fromhex("314159265359")  # pi: starts every bz2 block
_READ = 1 << 20  # bytes read (or fed to the decompressor) at a time
_READ_PAST_END = 1 << 15
_MULTISTREAM_PROBE = 8 << 20  # a pbzip2 stream (one 900 kB block) ends long before this


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
        obj = orjson.loads(s)
    except orjson.JSONDecodeError as e:  # also what orjson raises for text that is not UTF-8
        raise MalformedLine(f"invalid JSON: {e.msg} at column {e.colno}") from e
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


# --- splits ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """One task of reading a dump: a whole file, or the byte range [start, end) of one."""

    path: str
    kind: str  # "whole" (gz, single-stream bz2), "plain" (byte range), "bz2" (range of bz2 streams)
    start: int = 0
    end: int = 0


def sniff(path: str) -> bytes:
    """The first bytes of a file: its magic number, and for bz2 enough to see its first stream end."""
    with open_raw(path) as f:
        head = f.read(3)
        return head + f.read(_MULTISTREAM_PROBE) if head == b"BZh" else head


def is_multistream(head: bytes) -> bool:
    """Whether a bz2 file's first stream ends within `head` and another begins right after it."""
    d = bz2.BZ2Decompressor()
    try:
        for at in range(0, len(head), _READ):
            d.decompress(head[at:at + _READ])
            if d.eof:
                return d.unused_data.startswith(b"BZh")
    except (OSError, EOFError, ValueError):
        return False
    return False


def plan_splits(path: str, split_bytes: int = DEFAULT_SPLIT_BYTES) -> list[Split]:
    """The tasks that read one dump file (see the module doc)."""
    size = file_size(path)
    head = sniff(path)
    if head.startswith(b"\x1f\x8b") or (head.startswith(b"BZh") and not is_multistream(head)):
        return [Split(path, "whole", 0, size)]
    kind = "bz2" if head.startswith(b"BZh") else "plain"
    step = max(1, int(split_bytes))
    return [Split(path, kind, a, min(a + step, size)) for a in range(0, max(size, 1), step)]


def owned_lines(chunks: Iterable[tuple[bytes, bool]], from_start: bool) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of the lines a range owns, from its bytes: `chunks` are (data, inside) pieces,
    first the range's own bytes (inside=True), then what follows it (inside=False), read lazily.

    Offsets are relative to the range's first byte. The range owns the lines beginning at an
    offset q with 0 < q <= len(inside) (and q = 0 when `from_start`): it skips through the first
    newline, then reads up to and including the first newline at or after its end.
    """
    buf = bytearray()
    base = 0  # offset of buf[0]
    inside_len = 0
    inside_done = False
    q = 0 if from_start else None  # start of the next line to give; None while skipping
    for data, inside in chunks:
        if inside:
            inside_len += len(data)
        else:
            inside_done = True
        buf += data
        if q is None:
            i = buf.find(b"\n")
            if i < 0:
                base += len(buf)
                buf.clear()
                continue
            q = base + i + 1
        while True:
            if inside_done and q > inside_len:
                return
            i = buf.find(b"\n", q - base)
            if i < 0:
                break
            yield q, bytes(buf[q - base:i + 1])
            q = base + i + 1
        del buf[:q - base]
        base = q
    if q is not None and q <= inside_len and q - base < len(buf):
        yield q, bytes(buf[q - base:])  # the file's last line, without a newline


def _file_chunks(f, start: int, end: int) -> Iterator[tuple[bytes, bool]]:
    f.seek(start)
    left = end - start
    while left > 0:
        data = f.read(min(_READ, left))
        if not data:
            return
        left -= len(data)
        yield data, True
    while data := f.read(_READ):
        yield data, False


def _magic_positions(f, start: int, end: int) -> Iterator[int]:
    """Offsets in [start, end) where the bytes read like a bz2 stream header ("BZh1"-"BZh9" + the
    block magic). Not proof: compressed data can hold the same bytes (see find_stream_start)."""
    overlap = 10  # "BZh" + level + block magic
    at = start
    while at < end:
        f.seek(at)
        data = f.read(min(_READ, end - at) + overlap)
        if not data:
            return
        i = data.find(b"BZh", 0, end - at + 3)
        while i >= 0:
            if data[i + 3:i + 4] in b"123456789" and data[i + 4:i + 10] == BZ2_BLOCK_MAGIC and at + i < end:
                yield at + i  # the caller reads the file meanwhile: every round below seeks first
            i = data.find(b"BZh", i + 1, end - at + 3)
        at += min(_READ, end - at)


def find_stream_start(f, start: int, end: int) -> tuple[int, Iterator[tuple[bytes, bool]]] | None:
    """The first bz2 stream that starts in [start, end) of the file, verified by decompressing its first
    block: (offset, its decompressed chunks as _bz2_chunks gives them, the first already read) or None.
    The verification is the first block of the read itself, so nothing is decompressed twice."""
    for at in _magic_positions(f, start, end):
        chunks = _bz2_chunks(f, at, end)
        try:
            head = next(chunks)
        except StopIteration:
            return at, iter(())
        except (OSError, ValueError):
            continue  # the magic bytes were inside compressed data, not a stream header
        return at, itertools.chain([head], chunks)
    return None


def _bz2_chunks(f, first: int, end: int) -> Iterator[tuple[bytes, bool]]:
    """Decompressed bytes of the streams starting at `first`: inside while a stream starts before
    `end`, then the following streams (outside), until the file ends or the reader stops."""
    f.seek(first)
    pos = stream_start = first  # pos: file offset of data[0]
    d, fed = bz2.BZ2Decompressor(), False
    data = b""
    while True:
        if not data:
            # past the range, only the line it ends in is wanted: small reads, so little is decompressed
            data = f.read(_READ if stream_start < end else _READ_PAST_END)
            if not data:
                if fed and not d.eof:
                    raise EOFError(f"the bz2 stream at byte {stream_start} ends early")
                return
        out = d.decompress(data)
        fed = True
        if out:
            yield out, stream_start < end
        if not d.eof:
            pos += len(data)
            data = b""
            continue
        rest = d.unused_data
        pos += len(data) - len(rest)
        if len(rest) < 3:
            rest += f.read(3 - len(rest))
        if not rest.startswith(b"BZh"):
            return  # the last stream (anything after it is not bz2 and is not read)
        stream_start, data = pos, rest
        d, fed = bz2.BZ2Decompressor(), False


def read_split(split: Split) -> Iterator[tuple[int, str, bytes]]:
    """(offset, where, line) of every line a split owns, in order. `offset` is the 1-based line
    number for a whole file, the byte offset of the line for a plain range, and the byte offset of
    the split's first bz2 stream for a bz2 range; `where` completes it ("+N": decompressed byte N
    after that stream) so every line has its own place. Raises DumpError on a corrupt file."""
    from pipelines.wiki.dump import DumpError

    if split.kind == "whole":
        for n, line in iter_lines(split.path):
            yield n, "", line
        return
    last = 0
    try:
        with open_raw(split.path) as f:
            if split.kind == "plain":
                for q, line in owned_lines(_file_chunks(f, split.start, split.end), split.start == 0):
                    last = split.start + q
                    yield last, "", line
                return
            found = find_stream_start(f, split.start, split.end)
            if found is None:
                return  # no stream starts in this range: the previous range reads across it
            first, chunks = found
            for q, line in owned_lines(chunks, first == 0):
                last = q
                yield first, f"+{q}", line
    except (EOFError, OSError, zlib.error) as e:
        raise DumpError(f"{split.path}: the compressed dump is truncated or corrupt in bytes "
                        f"{split.start}-{split.end} (after +{last}: {e}); re-download it", split.path) from e
