"""Reading WARC / WET files record by record, with record-level errors instead of file-level ones.

Three layers, each plain Python over file objects (pass 1 of the mono stage, pipelines.mono.pass1, calls them):

1. gzip members (``iter_gzip_members``): a ``.warc.gz`` is a series of gzip members, inflated one at
   a time *as streams*, so a member of any size costs one chunk of memory. A corrupt or truncated
   member costs only that member: reading resyncs to the next gzip header and goes on.
2. framing (``frame_records``): the records of one byte stream (a plain file, or one gzip member),
   parsed strictly. After every record the next bytes must be line breaks and then the next
   ``WARC/`` record or the end of the stream. When they are not, the record's Content-Length lies:
   the record is rejected once (``bad_record_length``) and reading resynchronizes at the next
   ``WARC/1.`` line, searched from the start of the broken record's block, so a too-long length
   cannot swallow the next record and a too-short one cannot leave a truncated document behind.
   Blocks too large for ``max_doc_chars`` are streamed past, never held.
3. records (``record_to_doc``): HTTP parsing, payload sniffing (magic bytes win over the declared
   Content-Type), size limits, charset decoding, HTML → text.

Every record read yields exactly one RawDoc, ReadError or Skipped, so read = kept + dropped.

fastwarc (resiliparse's reader) was measured as a base for layer 2 and not used: it stops the whole
file at the first malformed header or corrupt gzip member (an OSError with no offset), and it lets a
lying Content-Length read across gzip members into the next record.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NoReturn

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import detect_encoding

from pipelines.mono.sniff import GZIP_MAGIC, SNIFF_BYTES, sniff_binary

CHUNK = 1 << 20  # bytes read from a file (or inflated from a member) at a time
FEED = 1 << 15  # compressed bytes fed to zlib per call: zlib copies the unused rest of its input
MAX_HEADER_BYTES = 32 << 10  # a WARC header block longer than this is corrupt
RESYNC_WINDOW = 16 << 20  # compressed bytes of a member kept for the resync scan after it fails
HEAD_BYTES = 64 << 10  # what is kept of a block too large to hold: enough to classify the record
WARC_LINE = b"WARC/1."  # a resync point: a line starting with a WARC/1.x version

DEFAULT_MAX_DOC_CHARS = 1_000_000
PAYLOAD_BYTES_PER_CHAR = 4  # UTF-8, UTF-16, UTF-32 and GB18030 never use more per character
HTTP_HEADER_ALLOWANCE = 64 << 10  # a response block holds HTTP headers besides its payload

HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")
TEXT_TYPES = ("text/plain",)
DOC_RECORD_TYPES = ("response", "resource", "conversion")


@dataclass
class RawDoc:
    """A document candidate as read: text not yet normalized."""

    source: str
    offset: int
    text: str
    url: str | None = None
    date: str | None = None
    record_id: str | None = None


@dataclass
class ReadError:
    """One unreadable record (or the unreadable rest of a file): becomes a rejects row."""

    source: str
    offset: int
    reason: str
    detail: str
    sample: str | None = None
    url: str | None = None


@dataclass
class Skipped:
    """A WARC record that is not a document (request, metadata, warcinfo, revisit): counted only."""

    rec_type: str


class RecordError(Exception):
    """One record cannot become a document; `reason` is its rejects reason."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ReadLimits:
    """The size rule behind ``too_long`` (see docs/mono.md, "Size limit").

    A payload (HTTP body after Transfer-/Content-Encoding, WARC resource or WET block) of more than
    ``PAYLOAD_BYTES_PER_CHAR × max_doc_chars`` bytes is rejected before it is decoded — no text within
    the limit needs more bytes than that — and a WARC block of more than that plus
    ``HTTP_HEADER_ALLOWANCE`` is not even held: it is streamed past. A text that passes is rejected
    when it has more than ``max_doc_chars`` characters (for HTML: the extracted text), before
    normalization.
    """

    max_doc_chars: int = DEFAULT_MAX_DOC_CHARS

    def __post_init__(self) -> None:
        if self.max_doc_chars <= 0:
            raise ValueError(f"max_doc_chars must be > 0, got {self.max_doc_chars}")

    @property
    def max_payload_bytes(self) -> int:
        return PAYLOAD_BYTES_PER_CHAR * self.max_doc_chars

    @property
    def max_block_bytes(self) -> int:
        return self.max_payload_bytes + HTTP_HEADER_ALLOWANCE


def _sample(data: bytes) -> str:
    return data[:200].decode("utf-8", "replace")


# ------------------------------------------------------------------------------------------ windows


class _Window:
    """A read-ahead window over a byte stream, addressed by absolute stream offsets.

    Bytes before the release mark may be dropped; dropping happens lazily (once half the buffer
    is released) so that consuming many small records does not memmove the buffer each time.
    """

    def __init__(self, read: Callable[[int], bytes], chunk: int = CHUNK):
        self._read = read
        self._chunk = chunk
        self.buf = bytearray()
        self.base = 0  # absolute offset of buf[0]
        self.eof = False
        self._keep = 0  # bytes before this offset are no longer needed
        self.end = 0  # absolute offset just past the buffered bytes

    def more(self, want: int = 0) -> bool:
        """Read one more piece (at least `want` bytes were asked for); False at the end of the stream."""
        if self.eof:
            return False
        drop = self._keep - self.base
        if drop > 0 and drop >= len(self.buf) // 2:
            del self.buf[:drop]
            self.base = self._keep
        data = self._read(max(self._chunk, want))
        if not data:
            self.eof = True
            return False
        self.buf += data
        self.end += len(data)
        return True

    def fill_to(self, end: int) -> bool:
        """Buffer the stream up to absolute offset `end`; False when it ends first."""
        while self.end < end:
            if not self.more(end - self.end):
                return False
        return True

    def release(self, upto: int) -> None:
        self._keep = max(self._keep, upto)

    def take(self, start: int, end: int) -> bytes:
        return bytes(self.buf[start - self.base:end - self.base])

    def startswith(self, pos: int, prefix: bytes) -> bool:
        self.fill_to(pos + len(prefix))
        return self.buf.startswith(prefix, pos - self.base)

    def skip_line_breaks(self, pos: int) -> int:
        """The first offset at or after `pos` that is not CR or LF (the end of the stream if none)."""
        while self.fill_to(pos + 1):
            j, n = pos - self.base, len(self.buf)
            while j < n and self.buf[j] in (10, 13):
                j += 1
            pos = self.base + j
            if j < n:
                break
        return pos

    def find(self, needle: bytes, start: int) -> int:
        """Absolute offset of the first `needle` at or after `start`, reading on (and releasing what
        was searched); -1 when the stream ends first."""
        while True:
            i = self.buf.find(needle, max(start - self.base, 0))  # (a negative index would count from the end)
            if i >= 0:
                return self.base + i
            start = max(start, self.end - len(needle) + 1)
            self.release(start)
            if not self.more():
                return -1

    def scan_lines_past(self, start: int, end: int, prefix: bytes) -> tuple[list[int], bool]:
        """Stream past [start, end) without holding it: (offsets in it where a line starting with
        `prefix` begins, whether the stream reached `end`)."""
        needle = b"\n" + prefix
        hits: list[int] = []
        search = start - 1
        while True:
            i = self.buf.find(needle, search - self.base)
            while i >= 0 and self.base + i + 1 < end:
                hits.append(self.base + i + 1)
                search = self.base + i + 1
                i = self.buf.find(needle, search - self.base)
            if self.end >= end - 1 + len(needle):
                return hits, True
            search = max(search, self.end - len(needle) + 1)
            self.release(min(search, end - 1))  # the resync after a lying length searches from end - 1
            if not self.more():
                return hits, self.end >= end


def next_warc_line(w: _Window, start: int) -> int:
    """Offset of the next line starting with ``WARC/1.`` at or after `start`; -1 if none."""
    i = w.find(b"\n" + WARC_LINE, start - 1)
    return i + 1 if i >= 0 else -1


def _record_follows(w: _Window, end: int) -> bool:
    """Whether the bytes after a record's block are line breaks, then a WARC record or the end."""
    i = w.skip_line_breaks(end)
    if not w.fill_to(i + 1):
        return True
    return w.startswith(i, b"WARC/")


# ---------------------------------------------------------------------------------------- framing


@dataclass
class WarcRecord:
    """One well-framed record: its WARC headers and block. When the block was too large to hold,
    `block` is only its first HEAD_BYTES and `length` says how long it was."""

    start: int
    headers: dict[str, str]
    block: bytes
    length: int

    @property
    def complete(self) -> bool:
        return len(self.block) >= self.length


@dataclass
class FramingError:
    """Bytes that do not form a record (or a record whose length lies): one reject."""

    start: int
    reason: str
    detail: str
    sample: str | None = None
    url: str | None = None


def _parse_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw in block.split(b"\n"):
        line = raw.rstrip(b"\r")
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and headers:  # folded continuation line
            last = next(reversed(headers))
            headers[last] += " " + line.strip().decode("latin-1")
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise ValueError(f"header line without ':' ({line[:60]!r})")
        headers[name.strip().decode("latin-1").lower()] = value.strip().decode("latin-1")
    return headers


def _header_end(data: bytes, start: int) -> tuple[int, int]:
    """(end of header block, start of body) — accepts CRLF and bare LF."""
    i = data.find(b"\r\n\r\n", start)
    j = data.find(b"\n\n", start, i if i >= 0 else len(data))  # only a bare-LF end before it matters
    if i >= 0 and j < 0:
        return i, i + 4
    if j >= 0:
        return j, j + 2
    return -1, -1


def _read_warc_head(w: _Window, pos: int, where: str) -> tuple[dict[str, str], int, int]:
    """(headers, block start, block length) of the record at `pos`; RecordError('corrupt_record')."""
    w.fill_to(pos + MAX_HEADER_BYTES)
    lo, hi = pos - w.base, min(len(w.buf), pos - w.base + MAX_HEADER_BYTES)
    i = w.buf.find(b"\r\n\r\n", lo, hi)
    j = w.buf.find(b"\n\n", lo, i if i >= 0 else hi)  # a bare-LF end before it (searched only up to it)
    if i >= 0 and j < 0:
        end, body = i, i + 4
    elif j >= 0:
        end, body = j, j + 2
    else:
        raise RecordError("corrupt_record", f"the {where} ends inside a WARC header block" if hi - lo < MAX_HEADER_BYTES
                          else f"WARC header block longer than {MAX_HEADER_BYTES} bytes")
    head = bytes(w.buf[lo:end])
    try:
        headers = _parse_headers(head[head.find(b"\n") + 1:])
        length = int(headers["content-length"])
        if length < 0:
            raise ValueError(f"negative Content-Length {length}")
    except (ValueError, KeyError) as e:
        raise RecordError("corrupt_record", f"bad WARC headers: {e!r}") from e
    return headers, w.base + body, length


def frame_records(read: Callable[[int], bytes], max_block_bytes: int, where: str = "file",
                  intact_end: bool = False, chunk: int = CHUNK) -> Iterator[WarcRecord | FramingError]:
    """Every record of one byte stream (`read(n)` as of a file: a plain WARC, or one inflated gzip
    member) as a WarcRecord, or a FramingError for bytes that are not one.

    Blocks up to `max_block_bytes` are held and checked; larger ones are streamed past (their
    WarcRecord holds the block's head only). `where` names the stream in messages. `intact_end`:
    the stream is known to end where it should (an inflated gzip member, checked by its CRC), so a
    block running past its end has a lying length; else (a plain file) the file may be truncated.
    """
    w = _Window(read, chunk)
    pos = 0
    while True:
        pos = w.skip_line_breaks(pos)
        w.release(pos)
        if not w.fill_to(pos + 1):
            return
        if not w.startswith(pos, b"WARC/"):
            sample = _sample(w.take(pos, pos + 200))
            nxt = next_warc_line(w, pos + 1)
            skipped = f"{nxt - pos} bytes skipped to the next WARC record" if nxt >= 0 else f"the rest of the {where} skipped"
            yield FramingError(pos, "corrupt_record", f"no WARC record starts here ({sample[:30]!r}); {skipped}", sample)
            if nxt < 0:
                return
            pos = nxt
            continue
        try:
            headers, body, length = _read_warc_head(w, pos, where)
        except RecordError as e:
            sample = _sample(w.take(pos, pos + 200))
            yield FramingError(pos, e.reason, e.detail, sample)
            nxt = next_warc_line(w, pos + 1)
            if nxt < 0:
                return
            pos = nxt
            continue
        url = headers.get("warc-target-uri")
        sample = _sample(w.take(pos, min(body, pos + 200)))
        end = body + length
        if length <= max_block_bytes:
            complete = w.fill_to(end)
            if complete and _record_follows(w, end):
                yield WarcRecord(pos, headers, w.take(body, end), length)
                pos = end
                continue
            left = w.end - body
            follows = w.take(end, end + 40) if complete else b""
            nxt = next_warc_line(w, body)  # inside the block when the length is too long
            if not complete and nxt < 0 and not intact_end:
                yield FramingError(pos, "corrupt_record",
                                   f"record truncated: Content-Length {length}, the {where} ends {left} bytes into the block",
                                   sample, url)
                return
            if complete:
                detail = (f"Content-Length {length} does not end the record: {follows!r} follows instead of the "
                          "next WARC record")
            else:
                over = " and over the next record" if nxt >= 0 else ""
                detail = f"Content-Length {length} runs past the end of the {where} ({left} bytes left){over}"
            where_next = f"read on at the next WARC record, {nxt - pos} bytes after this one's start" if nxt >= 0 \
                else f"the rest of the {where} belongs to this record"
            yield FramingError(pos, "bad_record_length", f"{detail}; {where_next}", sample, url)
            if nxt < 0:
                return
            pos = nxt
            continue
        # A block too large to hold: keep its head, stream past the rest.
        w.fill_to(body + HEAD_BYTES)
        head = w.take(body, min(body + HEAD_BYTES, end, w.end))
        inner, complete = w.scan_lines_past(body, end, WARC_LINE)
        if complete and _record_follows(w, end):
            yield WarcRecord(pos, headers, head, length)
            pos = end
            continue
        if not complete and not inner and not intact_end:
            yield FramingError(pos, "corrupt_record",
                               f"record truncated: Content-Length {length}, the {where} ends first", sample, url)
            return
        # The length lies, and the records it swallowed were streamed past: each is rejected.
        ends = "does not end the record" if complete else f"runs past the end of the {where}"
        lost = f"; the {len(inner)} WARC records inside its claimed bytes are rejected unread" if inner else ""
        yield FramingError(pos, "bad_record_length",
                           f"Content-Length {length} {ends} (a block too large to hold, streamed past){lost}", sample, url)
        for i in inner:
            yield FramingError(i, "bad_record_length",
                               f"WARC record inside the bytes claimed by the lying Content-Length of the record "
                               f"{i - pos} bytes before it; not read")
        if not complete:
            return
        pos = next_warc_line(w, end)
        if pos < 0:
            return


# -------------------------------------------------------------------------------------------- gzip


class CorruptMemberError(Exception):
    """A gzip member does not inflate (corrupt, or the file ends inside it)."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


@dataclass
class GzipProblem:
    """Bytes of a .gz file that are not a gzip member: one reject."""

    offset: int
    reason: str
    detail: str


class _Compressed:
    """The compressed bytes of a .gz file, read in chunks, addressed by absolute file offsets."""

    def __init__(self, f, chunk: int):
        self.w = _Window(f.read, chunk)
        self.pos = 0  # next compressed byte to inflate


class GzipMember:
    """One gzip member as a stream of inflated bytes (`read(n)`, b"" at its end)."""

    def __init__(self, comp: _Compressed, offset: int):
        self.comp = comp
        self.offset = offset
        self._d = zlib.decompressobj(31)
        self.done = False
        self.error: str | None = None

    def _fail(self, detail: str) -> NoReturn:
        self.error = detail
        raise CorruptMemberError(detail)

    def read(self, n: int) -> bytes:
        if self.error is not None:
            raise CorruptMemberError(self.error)
        w = self.comp.w
        while not self.done:
            if self.comp.pos >= w.end and not w.more():
                self._fail("truncated gzip member (file ends inside it)")
            # Keep this member's start for the resync scan, but no more than RESYNC_WINDOW bytes.
            w.release(max(self.offset, self.comp.pos - RESYNC_WINDOW))
            i = self.comp.pos - w.base
            with memoryview(w.buf) as view, view[i:i + FEED] as piece:
                try:
                    out = self._d.decompress(piece, max(n, 1))
                except zlib.error as e:
                    self._fail(f"corrupt gzip member ({e})")
                fed = len(piece)
            if self._d.eof:
                self.comp.pos += fed - len(self._d.unused_data)
                self.done = True
            else:
                self.comp.pos += fed - len(self._d.unconsumed_tail)
            if out:
                return out
        return b""

    def finish(self) -> str | None:
        """Inflate (and discard) what the reader left of the member; its error, if any."""
        try:
            while self.read(CHUNK):
                pass
        except CorruptMemberError:
            pass
        return self.error


def iter_gzip_members(f, chunk: int = CHUNK) -> Iterator[GzipMember | GzipProblem]:
    """The gzip members of a .gz stream, each to be read (as a stream) before asking for the next,
    and a GzipProblem for bytes that are not a member (junk between members, a bad start).

    A member that fails while its reader reads it raises CorruptMemberError to that reader; one
    that fails after the reader stopped is reported here. Either way reading resumes at the next
    gzip header after the failed member's first byte.
    """
    comp = _Compressed(f, chunk)
    w = comp.w
    while True:
        w.release(comp.pos)
        if not w.fill_to(comp.pos + 1):
            return
        if not w.startswith(comp.pos, GZIP_MAGIC):
            start = comp.pos
            nxt = w.find(GZIP_MAGIC, start)
            what = "the rest of the file" if nxt < 0 else f"{nxt - start} bytes"
            yield GzipProblem(start, "corrupt_record", f"{what} at offset {start} not gzip data (no gzip member starts there)")
            if nxt < 0:
                return
            comp.pos = nxt
            continue
        member = GzipMember(comp, comp.pos)
        yield member
        reported = member.error is not None
        error = member.finish()
        if error is None:
            continue
        if not reported:
            yield GzipProblem(member.offset, "corrupt_record", error)
        nxt = w.find(GZIP_MAGIC, max(member.offset + 1, w.base))
        if nxt < 0:
            return
        comp.pos = nxt


# --------------------------------------------------------------------------------------------- HTTP


def _dechunk(body: bytes) -> bytes:
    out, pos = [], 0
    while True:
        nl = body.find(b"\r\n", pos)
        if nl < 0:
            raise ValueError("chunked body ends inside a chunk size line")
        size = int(body[pos:nl].split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return b"".join(out)
        out.append(body[nl + 2:nl + 2 + size])
        if nl + 2 + size > len(body):
            raise ValueError("chunked body truncated")
        pos = nl + 2 + size + 2


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    """Inflate at most `limit` bytes: a body that inflates past it is too_long, not a memory spike."""
    d = zlib.decompressobj(wbits)
    out = d.decompress(data, limit + 1)
    if len(out) > limit:
        raise RecordError("too_long", f"HTTP body inflates past {limit} bytes (max_doc_chars × {PAYLOAD_BYTES_PER_CHAR})")
    if not d.eof:
        raise zlib.error("incomplete or truncated stream")
    return out


def split_http_response(block: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased headers, raw body) of an HTTP response block, body still encoded;
    RecordError('bad_http_payload') when it is not one."""
    if not block.startswith(b"HTTP/"):
        raise RecordError("bad_http_payload", f"no HTTP status line (starts with {block[:30]!r})")
    end, body_start = _header_end(block, 0)
    if end < 0:
        raise RecordError("bad_http_payload", "HTTP header block does not end")
    first_nl = block.find(b"\n")
    status_line = block[:first_nl].rstrip(b"\r").split(b" ", 2)
    try:
        status = int(status_line[1])
        headers = _parse_headers(block[first_nl + 1:end]) if first_nl < end else {}
    except (IndexError, ValueError) as e:
        raise RecordError("bad_http_payload", f"bad HTTP status/headers: {e}") from e
    return status, headers, block[body_start:]


def _is_encoded(headers: dict[str, str]) -> bool:
    return ("chunked" in headers.get("transfer-encoding", "").lower()
            or headers.get("content-encoding", "").lower().strip() not in ("", "identity"))


def decode_http_body(body: bytes, headers: dict[str, str], limit: int) -> bytes:
    """The body with its Transfer-Encoding and Content-Encoding undone, inflating at most `limit`
    bytes; RecordError('bad_http_payload' / 'too_long')."""
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = _dechunk(body)
        enc = headers.get("content-encoding", "").lower().strip()
        if enc in ("gzip", "x-gzip"):
            body = _inflate(body, 31, limit)
        elif enc == "deflate":
            try:
                body = _inflate(body, 15, limit)
            except zlib.error:
                body = _inflate(body, -15, limit)  # raw deflate, as some servers send
        elif enc not in ("", "identity"):
            raise RecordError("bad_http_payload", f"unsupported Content-Encoding {enc!r}")
    except (ValueError, zlib.error) as e:
        raise RecordError("bad_http_payload", f"cannot decode HTTP body: {e}") from e
    return body


def parse_http_response(block: bytes, limit: int = DEFAULT_MAX_DOC_CHARS * PAYLOAD_BYTES_PER_CHAR
                        ) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased headers, decoded body) of an HTTP response block."""
    status, headers, body = split_http_response(block)
    return status, headers, decode_http_body(body, headers, limit)


# ----------------------------------------------------------------------------------------- charsets

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)


def _try_decode(body: bytes, charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        return body.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return None


def decode_body(body: bytes, content_type: str) -> str:
    """Text of a payload: BOM, then the HTTP charset, then <meta charset>, then detection; strict
    decoding at each step, so a wrong declaration falls through instead of producing mojibake."""
    if body.startswith(b"\xef\xbb\xbf"):
        text = _try_decode(body[3:], "utf-8")
        if text is not None:
            return text
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _try_decode(body, "utf-16")
        if text is not None:
            return text
    m = _HEADER_CHARSET.search(content_type or "")
    text = _try_decode(body, m.group(1) if m else None)
    if text is None:
        mm = _META_CHARSET.search(body[:4096])
        text = _try_decode(body, mm.group(1).decode("ascii") if mm else None)
    if text is None:
        text = _try_decode(body, detect_encoding(body))
    if text is None or "\x00" in text:
        raise RecordError("undecodable_text", "payload does not decode as text in its declared or detected charset")
    return text


def html_to_text(html: str, main_content: bool = False) -> str:
    """Visible text of an HTML page, one block element per line (resiliparse)."""
    return extract_plain_text(html, main_content=main_content, list_bullets=False, alt_texts=False)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


# ------------------------------------------------------------------------------------------ records


def record_to_doc(headers: dict[str, str], block: bytes, source: str, offset: int, main_content: bool = False,
                  max_doc_chars: int = DEFAULT_MAX_DOC_CHARS, block_length: int | None = None) -> RawDoc | Skipped:
    """A document from one WARC record, Skipped for non-document record types; RecordError else.

    `block_length` larger than ``len(block)`` means the block was too large to hold and `block` is
    only its head: the record is classified from the head and rejected (too_long at the latest).
    """
    rec_type = headers.get("warc-type", "").lower()
    if rec_type not in DOC_RECORD_TYPES:
        return Skipped(rec_type or "unknown")
    limits = ReadLimits(max_doc_chars)
    whole = block_length is None or block_length <= len(block)
    url = headers.get("warc-target-uri")
    date = headers.get("warc-date")
    record_id = headers.get("warc-record-id")
    encoded = False
    if rec_type == "conversion":  # WET: the block is the extracted text, UTF-8
        payload, content_type = block, "text/plain; charset=utf-8"
    elif rec_type == "response":
        status, http, payload = split_http_response(block)
        if not 200 <= status < 300:
            raise RecordError("http_status", f"HTTP status {status}, not a page")
        content_type = http.get("content-type", "") or headers.get("warc-identified-payload-type", "")
        encoded = _is_encoded(http)
        if whole:
            payload = decode_http_body(payload, http, limits.max_payload_bytes)
            encoded = False
    else:
        payload, content_type = block, headers.get("content-type", "")
    if not encoded:  # the bytes as served, whatever they are labelled
        kind = sniff_binary(payload[:SNIFF_BYTES])
        if kind:
            raise RecordError("non_text_content", f"payload is a {kind} (magic bytes), declared {content_type or 'unknown'!r}")
    media = _media_type(content_type)
    if rec_type != "conversion":
        if not media:  # no declared type: sniff, rather than drop the record as datatrove does
            start = payload[:2048].lower()
            media = "text/html" if b"<html" in start or b"<!doctype html" in start else ""
        if media not in HTML_TYPES and media not in TEXT_TYPES:
            raise RecordError("non_text_content", f"content type {content_type or 'unknown'!r}")
    if not whole:
        raise RecordError("too_long", f"record block of {block_length} bytes, over the {limits.max_block_bytes}-byte bound "
                                      f"for max_doc_chars={max_doc_chars}; streamed past unread")
    if len(payload) > limits.max_payload_bytes:
        raise RecordError("too_long", f"payload of {len(payload)} bytes, over {PAYLOAD_BYTES_PER_CHAR} × "
                                      f"max_doc_chars={max_doc_chars}; not decoded")
    if rec_type == "conversion":
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as e:
            raise RecordError("undecodable_text", f"WET conversion record is not UTF-8: {e}") from e
    else:
        text = decode_body(payload, content_type)
        if media in HTML_TYPES:
            try:
                text = html_to_text(text, main_content)
            except Exception as e:  # resiliparse parser errors: this record only
                raise RecordError("bad_http_payload", f"HTML does not parse: {e}") from e
    if len(text) > max_doc_chars:
        raise RecordError("too_long", f"{len(text)} characters, over max_doc_chars={max_doc_chars}; not normalized")
    return RawDoc(source, offset, text, url, date, record_id)


def _item(frame: WarcRecord | FramingError, source: str, offset: int, main_content: bool,
          max_doc_chars: int) -> RawDoc | ReadError | Skipped:
    if isinstance(frame, FramingError):
        return ReadError(source, offset, frame.reason, frame.detail, frame.sample, frame.url)
    try:
        return record_to_doc(frame.headers, frame.block, source, offset, main_content, max_doc_chars, frame.length)
    except RecordError as e:
        return ReadError(source, offset, e.reason, e.detail, _sample(frame.block), frame.headers.get("warc-target-uri"))


def read_warc(f, source: str, gzipped: bool, main_content: bool = False,
              max_doc_chars: int = DEFAULT_MAX_DOC_CHARS) -> Iterator[RawDoc | ReadError | Skipped]:
    """Every record of a WARC/WET file as a RawDoc, ReadError or Skipped; never raises on bad data.

    Offsets: the record's byte offset in a plain file; the offset of its gzip member in a .gz.
    """
    limits = ReadLimits(max_doc_chars)
    if not gzipped:
        for frame in frame_records(f.read, limits.max_block_bytes, "file"):
            yield _item(frame, source, frame.start, main_content, max_doc_chars)
        return
    for member in iter_gzip_members(f):
        if isinstance(member, GzipProblem):
            yield ReadError(source, member.offset, member.reason, member.detail)
            continue
        try:
            for frame in frame_records(member.read, limits.max_block_bytes, "gzip member", intact_end=True):
                yield _item(frame, source, member.offset, main_content, max_doc_chars)
        except CorruptMemberError as e:
            yield ReadError(source, member.offset, "corrupt_record", e.detail)
