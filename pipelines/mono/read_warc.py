"""Reading WARC / WET files record by record, with record-level errors instead of file-level ones.

A ``.warc.gz`` file is a series of gzip members (normally one record each). Members are inflated one
at a time from a stream, so a corrupt or truncated member costs only that member: reading resyncs to
the next gzip header and goes on. Records are parsed strictly (warcio accepts almost anything), so a
garbled HTTP payload is reported as such instead of becoming a document of junk.

Everything here is plain Python over file objects: the Beam wrapper lives in pipelines.mono.read.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import detect_encoding

CHUNK = 1 << 20
FEED = 1 << 15
GZIP_MAGIC = b"\x1f\x8b\x08"
MAX_RECORD_BYTES = 64 << 20  # a record inflating past this is rejected (gzip bomb, broken length)
HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")
TEXT_TYPES = ("text/plain",)


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
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# ---------------------------------------------------------------------------------------------- gzip


def iter_gzip_members(f, chunk: int = CHUNK) -> Iterator[tuple[int, bytes | None, str | None]]:
    """(offset, inflated bytes, None) per gzip member, or (offset, None, error) for a bad one.

    After a corrupt member, reading resumes at the next gzip header found after its start; a
    truncated last member reports the error and ends. The compressed stream is read in chunks and
    indexed in place (no per-member copies), so memory stays at about one chunk plus one record.
    """
    buf = b""
    base = 0  # absolute file offset of buf[0]
    eof = False

    def more(keep_from: int) -> int:
        """Append a chunk, dropping buf[:keep_from]; returns how many bytes were dropped (0 at EOF)."""
        nonlocal buf, base, eof
        if eof:
            return -1
        data = f.read(chunk)
        if not data:
            eof = True
            return -1
        buf = buf[keep_from:] + data
        base += keep_from
        return keep_from

    start = 0  # index in buf of the current member
    while True:
        if start >= len(buf):
            dropped = more(start)
            if dropped < 0:
                return
            start -= dropped
        d = zlib.decompressobj(31)
        out: list[bytes] = []
        size = 0
        pos = start  # next byte of buf to feed
        error = None
        try:
            while True:
                if pos >= len(buf):
                    dropped = more(start)
                    if dropped < 0:
                        error = "truncated gzip member (file ends inside it)"
                        break
                    start -= dropped
                    pos -= dropped
                # Feed bounded pieces: zlib copies the unused rest of its input on every call.
                piece_in = memoryview(buf)[pos:pos + FEED]
                piece = d.decompress(piece_in, MAX_RECORD_BYTES + 1 - size)
                size += len(piece)
                out.append(piece)
                if size > MAX_RECORD_BYTES:
                    error = f"gzip member inflates past {MAX_RECORD_BYTES} bytes"
                    break
                if d.eof:
                    pos += len(piece_in) - len(d.unused_data)
                    break
                pos += len(piece_in) - len(d.unconsumed_tail)
        except zlib.error as e:
            error = f"corrupt gzip member ({e})"
        if error is None:
            yield base + start, b"".join(out), None
            start = pos
            continue
        yield base + start, None, error
        # Resync: the next gzip header after this member's first byte.
        search_from = start + 1
        while True:
            i = buf.find(GZIP_MAGIC, search_from)
            if i >= 0:
                start = i
                break
            keep = max(len(buf) - 2, search_from)  # the magic may straddle two chunks
            dropped = more(keep)
            if dropped < 0:
                return
            search_from = 0


# ------------------------------------------------------------------------------------------- records


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
    j = data.find(b"\n\n", start)
    if i >= 0 and (j < 0 or i <= j):
        return i, i + 4
    if j >= 0:
        return j, j + 2
    return -1, -1


def parse_warc_records(data: bytes) -> Iterator[tuple[dict[str, str], bytes]]:
    """(WARC headers, content block) of every record in `data` (an inflated member or a whole
    uncompressed file). Raises RecordError('corrupt_record', ...) at the first malformed record."""
    pos = 0
    n = len(data)
    while pos < n:
        while pos < n and data[pos:pos + 1] in (b"\r", b"\n"):
            pos += 1
        if pos >= n:
            return
        if not data.startswith(b"WARC/", pos):
            raise RecordError("corrupt_record", f"no WARC/ version line (found {data[pos:pos + 30]!r})")
        end, body = _header_end(data, pos)
        if end < 0:
            raise RecordError("corrupt_record", "WARC header block does not end")
        first_nl = data.find(b"\n", pos)
        try:
            headers = _parse_headers(data[first_nl + 1:end])
            length = int(headers["content-length"])
        except (ValueError, KeyError) as e:
            raise RecordError("corrupt_record", f"bad WARC headers: {e}") from e
        if body + length > n:
            raise RecordError("corrupt_record", f"record truncated: Content-Length {length}, {n - body} bytes left")
        yield headers, data[body:body + length]
        pos = body + length


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


def parse_http_response(block: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased headers, decoded body) of an HTTP response block; RecordError
    ('bad_http_payload') when it is not one."""
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
    body = block[body_start:]
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = _dechunk(body)
        enc = headers.get("content-encoding", "").lower().strip()
        if enc in ("gzip", "x-gzip"):
            body = zlib.decompress(body, 31)
        elif enc == "deflate":
            try:
                body = zlib.decompress(body)
            except zlib.error:
                body = zlib.decompress(body, -15)  # raw deflate, as some servers send
        elif enc not in ("", "identity"):
            raise RecordError("bad_http_payload", f"unsupported Content-Encoding {enc!r}")
    except (ValueError, zlib.error) as e:
        raise RecordError("bad_http_payload", f"cannot decode HTTP body: {e}") from e
    return status, headers, body


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


def record_to_doc(headers: dict[str, str], block: bytes, source: str, offset: int,
                  main_content: bool) -> RawDoc | Skipped:
    """A document from one WARC record, Skipped for non-document record types; RecordError else."""
    rec_type = headers.get("warc-type", "").lower()
    url = headers.get("warc-target-uri")
    date = headers.get("warc-date")
    record_id = headers.get("warc-record-id")
    if rec_type == "conversion":  # WET: the block is the extracted text, UTF-8
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as e:
            raise RecordError("undecodable_text", f"WET conversion record is not UTF-8: {e}") from e
        return RawDoc(source, offset, text, url, date, record_id)
    if rec_type == "response":
        status, http, body = parse_http_response(block)
        if not 200 <= status < 300:
            raise RecordError("http_status", f"HTTP status {status}, not a page")
        content_type = http.get("content-type", "") or headers.get("warc-identified-payload-type", "")
    elif rec_type == "resource":
        body, content_type = block, headers.get("content-type", "")
    else:
        return Skipped(rec_type or "unknown")
    media = _media_type(content_type)
    if not media:  # no declared type: sniff, rather than drop the record as datatrove does
        media = "text/html" if b"<html" in body[:2048].lower() or b"<!doctype html" in body[:2048].lower() else ""
    if media not in HTML_TYPES and media not in TEXT_TYPES:
        raise RecordError("non_text_content", f"content type {content_type or 'unknown'!r}")
    text = decode_body(body, content_type)
    if media in HTML_TYPES:
        try:
            text = html_to_text(text, main_content)
        except Exception as e:  # resiliparse parser errors: this record only
            raise RecordError("bad_http_payload", f"HTML does not parse: {e}") from e
    return RawDoc(source, offset, text, url, date, record_id)


def _records_of(data: bytes, source: str, offset: int, main_content: bool):
    try:
        for headers, block in parse_warc_records(data):
            try:
                yield record_to_doc(headers, block, source, offset, main_content)
            except RecordError as e:
                yield ReadError(source, offset, e.reason, e.detail, block[:200].decode("utf-8", "replace"),
                                headers.get("warc-target-uri"))
    except RecordError as e:
        yield ReadError(source, offset, e.reason, e.detail, data[:200].decode("utf-8", "replace"))


def read_warc(f, source: str, gzipped: bool, main_content: bool = False) -> Iterator[RawDoc | ReadError | Skipped]:
    """Every record of a WARC/WET file as a RawDoc, ReadError or Skipped; never raises on bad data."""
    if gzipped:
        for offset, data, error in iter_gzip_members(f):
            if error is not None:
                yield ReadError(source, offset, "corrupt_record", error)
            else:
                yield from _records_of(data, source, offset, main_content)
        return
    # Uncompressed WARC: parse the stream record by record; after a malformed record the rest of
    # the file cannot be located reliably, so it is rejected as one unit.
    yield from _read_plain_warc(f, source, main_content)


def _read_plain_warc(f, source: str, main_content: bool):
    buf = b""
    buf_start = 0
    eof = False
    while True:
        while not eof and len(buf) < CHUNK:
            data = f.read(CHUNK)
            eof = not data
            buf += data
        stripped = buf.lstrip(b"\r\n")
        buf_start += len(buf) - len(stripped)
        buf = stripped
        if not buf:
            return
        end, body = _header_end(buf, 0)
        length = None
        if buf.startswith(b"WARC/") and end >= 0:
            try:
                length = int(_parse_headers(buf[buf.find(b"\n") + 1:end])["content-length"])
            except (ValueError, KeyError):
                length = None
        if length is None or length > MAX_RECORD_BYTES:
            yield ReadError(source, buf_start, "corrupt_record", "malformed WARC record; rest of the file skipped",
                            buf[:200].decode("utf-8", "replace"))
            return
        while not eof and len(buf) < body + length:
            data = f.read(max(CHUNK, body + length - len(buf)))
            eof = not data
            buf += data
        if len(buf) < body + length:
            yield ReadError(source, buf_start, "corrupt_record", "record truncated at end of file",
                            buf[:200].decode("utf-8", "replace"))
            return
        yield from _records_of(buf[:body + length], source, buf_start, main_content)
        buf, buf_start = buf[body + length:], buf_start + body + length
