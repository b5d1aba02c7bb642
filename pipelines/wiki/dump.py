"""Streaming reader of MediaWiki XML exports (`pages-articles*.xml[.bz2|.gz]`, also multistream).

Never holds the dump in memory: `iter_pages` runs ElementTree.iterparse over a decompressing stream
and clears every <page> element (and the root's reference to it) as soon as it is read. Python's bz2
module reads concatenated streams, so a multistream dump is also readable front to back.

Parallel reading: a multistream dump (`…-multistream.xml.bz2`) comes with an index
(`…-multistream-index.txt.bz2`, lines `offset:page_id:title`). Every distinct offset starts an
independent bz2 stream of ~100 pages, so one (offset, next offset) range is one unit of work that any
worker can read with a seek (`read_stream_pages`). Without an index there is one reader per file.
"""

from __future__ import annotations

import bz2
import gzip
import io
import re
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from pipelines.wiki.titles import normalize_title


class DumpError(ValueError):
    """A dump file that cannot be read as what the config says it is.

    `path` names the file at fault (the dump, or its multistream index). Picklable with its path, so
    it survives the trip from a worker; the wiki stage turns it into a rejects row (reason
    `unreadable_dump`) on the worker and into one error line on the driver.
    """

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.path = path

    def __reduce__(self):
        return (type(self), (str(self), self.path))


@dataclass
class Page:
    title: str  # normalized
    ns: int
    page_id: int
    redirect: str | None  # normalized redirect target (fragment dropped), None for an article
    text: str
    source: str
    offset: int  # byte offset of its bz2 stream (multistream) or ordinal of the page in the file


_REDIRECT_TEXT = re.compile(r"^\s*#\s*redirect\s*:?\s*\[\[([^\]|]*)", re.I)


def open_raw(path: str):
    """Binary file object for a local path or any Beam filesystem URI (gs://, s3://)."""
    if "://" in path:
        from apache_beam.io.filesystems import CompressionTypes, FileSystems

        return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    return open(path, "rb")


def decompressing(raw, source: str):
    """Wrap a binary stream by its magic bytes: bz2 (incl. multistream), gzip, or plain."""
    head = raw.read(3)
    buffered = io.BufferedReader(_Prepend(head, raw), 1 << 16)
    if head.startswith(b"BZh"):
        return bz2.BZ2File(buffered)
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=buffered)
    return buffered


class _Prepend(io.RawIOBase):
    """A raw stream with some already-read bytes put back in front (to sniff magic bytes)."""

    def __init__(self, head: bytes, raw):
        self.head, self.raw = head, raw

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.head:
            n = min(len(b), len(self.head))
            b[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.raw.read(len(b))
        b[: len(data)] = data
        return len(data)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _page_from_element(elem, source: str, offset: int) -> Page:
    title = ns = pid = redirect = None
    text = ""
    for child in elem:
        name = _local(child.tag)
        if name == "title":
            title = child.text or ""
        elif name == "ns":
            ns = int((child.text or "0").strip())
        elif name == "id":
            pid = int((child.text or "0").strip())
        elif name == "redirect":
            redirect = child.get("title")
        elif name == "revision":
            for r in child:
                if _local(r.tag) == "text":
                    text = r.text or ""
    if title is None:
        raise DumpError(f"{source}: a <page> without <title> near offset {offset}: not a MediaWiki export", source)
    if redirect is None:
        m = _REDIRECT_TEXT.match(text)
        if m:
            redirect = m.group(1)
    return Page(
        title=normalize_title(title),
        ns=0 if ns is None else ns,
        page_id=pid or 0,
        redirect=normalize_title(redirect) if redirect is not None else None,
        text=text,
        source=source,
        offset=offset,
    )


def iter_pages(stream, source: str, offset: int | None = None) -> Iterator[Page]:
    """Every <page> of an XML stream, in order, in constant memory.

    offset: the byte offset to report for every page (multistream); None → the page ordinal.
    """
    root = None
    n = 0
    try:
        for event, elem in ET.iterparse(stream, events=("start", "end")):
            if event == "start":
                if root is None:
                    root = elem
                continue
            if _local(elem.tag) == "page":
                page = _page_from_element(elem, source, n if offset is None else offset)
                n += 1
                elem.clear()
                root.clear()  # drop the root's reference to every finished page: memory stays flat
                yield page
    except ET.ParseError as e:
        raise DumpError(
            f"{source}: not a readable MediaWiki XML dump (XML error after {n} pages: {e}); "
            "re-download the dump or point wiki.wikipedia.inputs at a pages-articles XML export", source
        ) from e
    except (EOFError, OSError, zlib.error) as e:
        raise DumpError(
            f"{source}: the compressed dump is truncated or corrupt after {n} pages ({e}); re-download it", source
        ) from e


def read_pages(path: str) -> Iterator[Page]:
    """All pages of one dump file, streamed front to back (one reader per file)."""
    with open_raw(path) as raw:
        yield from iter_pages(decompressing(raw, path), path)


@dataclass
class SiteInfo:
    dbname: str | None
    namespaces: dict[str, int]  # namespace name (and aliases) as given → number


def read_siteinfo(path: str) -> SiteInfo:
    """Read only the <siteinfo> header (and check the file is a MediaWiki export)."""
    names: dict[str, int] = {}
    dbname = None
    root = None
    try:
        with open_raw(path) as raw:
            stream = decompressing(raw, path)
            for event, elem in ET.iterparse(stream, events=("start", "end")):
                tag = _local(elem.tag)
                if event == "start":
                    if root is None:
                        root = tag
                        if tag != "mediawiki":
                            raise DumpError(
                                f"{path}: root element <{tag}> is not <mediawiki>; wiki.wikipedia.inputs "
                                "needs pages-articles*.xml[.bz2|.gz] MediaWiki exports", path
                            )
                    elif tag == "page":
                        break
                    continue
                if tag == "dbname":
                    dbname = (elem.text or "").strip() or None
                elif tag in ("namespace", "alias") and elem.get("key") is not None:
                    names[(elem.text or "").strip()] = int(elem.get("key"))
                elif tag == "siteinfo":
                    break
    except ET.ParseError as e:
        raise DumpError(
            f"{path}: not a MediaWiki XML export ({e}); wiki.wikipedia.inputs needs a pages-articles dump", path
        ) from e
    except (EOFError, OSError, zlib.error) as e:
        raise DumpError(f"{path}: cannot decompress the dump ({e}); re-download it", path) from e
    return SiteInfo(dbname, {k: v for k, v in names.items() if k})


# --- multistream ------------------------------------------------------------------------------------

_MULTISTREAM = re.compile(r"multistream(\d*)\.xml(.*)\.bz2$")


def index_path_for(path: str) -> str:
    """The index file that Wikimedia publishes next to a multistream dump ("" when not multistream)."""
    m = _MULTISTREAM.search(path)
    if not m:
        return ""
    return path[: m.start()] + f"multistream-index{m.group(1)}.txt{m.group(2)}.bz2"


def truncated_dump(path: str, listed: int, size: int) -> DumpError:
    return DumpError(
        f"{path}: the dump is truncated: its multistream index lists a stream at byte {listed:,} but the file "
        f"ends at byte {size:,}; re-download the dump (wiki.wikipedia.multistream: off does not help: the "
        "end of the dump is missing)", path)


def iter_stream_ranges(index_path: str, dump_size: int, dump_path: str = "") -> Iterator[tuple[int, int]]:
    """(start, end) byte ranges of the page streams listed in a multistream index, streamed.

    An offset at or past the end of the dump means the dump is truncated (the index is complete):
    DumpError naming the dump, not the index.
    """
    prev = None
    try:
        with open_raw(index_path) as raw:
            stream = io.TextIOWrapper(decompressing(raw, index_path), encoding="utf-8")
            for line_no, line in enumerate(stream, 1):
                head = line.split(":", 1)[0]
                if not head.strip():
                    continue
                try:
                    off = int(head)
                except ValueError as e:
                    raise DumpError(f"{index_path}:{line_no}: not a multistream index line ({line[:80]!r})",
                                    index_path) from e
                if off == prev:
                    continue
                if off >= dump_size:
                    raise truncated_dump(dump_path or index_path, off, dump_size)
                if prev is not None:
                    if off < prev:
                        raise DumpError(f"{index_path}:{line_no}: offsets go backwards; the index does not match",
                                        index_path)
                    yield prev, off
                prev = off
    except (EOFError, OSError, zlib.error, UnicodeDecodeError) as e:
        raise DumpError(f"{index_path}: the multistream index is truncated or corrupt ({e}); re-download it "
                        "or set wiki.wikipedia.multistream: off", index_path) from e
    if prev is not None:
        yield prev, dump_size


def read_stream_pages(path: str, start: int, end: int) -> Iterator[Page]:
    """Pages of one independent bz2 stream [start, end) of a multistream dump."""
    with open_raw(path) as raw:
        raw.seek(start)
        data = raw.read(end - start)
    if len(data) < end - start:
        raise truncated_dump(path, end, start + len(data))
    try:
        xml = bz2.decompress(data)
    except EOFError as e:  # a stream that stops before its end-of-stream marker
        raise DumpError(
            f"{path}: the bz2 stream at bytes {start:,}-{end:,} ends early ({e}): the dump is truncated or "
            "corrupt; re-download it", path) from e
    except (OSError, ValueError) as e:
        raise DumpError(
            f"{path}: bytes {start}-{end} are not a bz2 stream ({e}); the multistream index does not "
            "belong to this dump (set wiki.wikipedia.multistream: off, or fetch the matching index)", path
        ) from e
    first, last = xml.find(b"<page>"), xml.rfind(b"</page>")
    if first < 0 or last < 0:
        return
    body = b"<pages>" + xml[first : last + len(b"</page>")] + b"</pages>"
    yield from iter_pages(io.BytesIO(body), path, offset=start)


def file_size(path: str) -> int:
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.match([path])[0].metadata_list[0].size_in_bytes
    import os

    return os.path.getsize(path)
