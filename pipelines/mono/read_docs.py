"""Input formats by file name, and readers for JSONL / Parquet document files.

Every reader yields RawDoc / ReadError / Skipped (pipelines.mono.read_warc) and never raises on bad
data: a bad line or row is a ReadError, an unreadable rest of a file is one ReadError saying so.
Readers stream: memory holds about one record (JSONL line, WARC block) or one Parquet batch, and a
record over the size bound of ``max_doc_chars`` is rejected ``too_long`` before it is parsed.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator

from pipelines.mono.read_warc import (
    CHUNK,
    DEFAULT_MAX_DOC_CHARS,
    RawDoc,
    ReadError,
    ReadLimits,
    Skipped,
    read_warc,
)
from pipelines.mono.sniff import SNIFF_BYTES, describe_start, is_gzip
from pipelines.shards import filesystem

FORMATS = ("warc", "wet", "jsonl", "parquet")
JSON_BYTES_PER_CHAR = 6  # the longest JSON escape of one character of the Basic Plane: \\uXXXX
JSON_FIELD_ALLOWANCE = 64 << 10  # a line holds url / id / other fields besides its text
SKIP_PIECE = 64 << 10  # an over-long line is read past in pieces of this size
PARQUET_BATCH_ROWS = 64  # rows turned into Python at a time (each up to max_doc_chars)
PARQUET_READ_BUFFER = 1 << 20  # column chunks are read through a buffer of this size, not whole


class UnknownFormatError(ValueError):
    pass


def detect_format(path: str) -> tuple[str, bool]:
    """(format, gzipped) from the file name: .warc[.gz], .wet[.gz] / .warc.wet[.gz], .jsonl/.json[l].gz, .parquet."""
    name = path.rsplit("/", 1)[-1].lower()
    gz = name.endswith(".gz")
    stem = name[:-3] if gz else name
    if stem.endswith(".wet"):
        return "wet", gz
    if stem.endswith((".warc", ".arc")):
        return "warc", gz
    if stem.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl", gz
    if stem.endswith(".parquet") and not gz:
        return "parquet", False
    raise UnknownFormatError(
        f"{path}: unknown input format (expected .warc[.gz], .wet[.gz], .jsonl[.gz] or .parquet)"
    )


def _buffered(f) -> io.BufferedReader:
    return f if isinstance(f, io.BufferedReader) else io.BufferedReader(f, CHUNK)


def compression_mismatch(head: bytes, gzipped: bool, source: str) -> ReadError | None:
    """One reject for the whole file when its first bytes contradict its name (.gz or not)."""
    if not head:
        return None
    if gzipped and not is_gzip(head):
        return ReadError(source, 0, "not_gzip", f"the file name ends in .gz but the file is not gzip-compressed "
                                                f"(it starts with {describe_start(head)}): drop the .gz from its "
                                                "name, or compress it with gzip")
    if not gzipped and is_gzip(head):
        return ReadError(source, 0, "corrupt_record", "the file is gzip-compressed but its name does not end in "
                                                      ".gz: add .gz to its name")
    return None


def _skip_rest_of_line(stream, line: bytes) -> int:
    """Read (and drop) the rest of an over-long line; its total length in bytes."""
    total = len(line)
    while not line.endswith(b"\n"):
        line = stream.readline(SKIP_PIECE)
        if not line:
            break
        total += len(line)
    return total


def read_jsonl(f, source: str, gzipped: bool, text_field: str = "text",
               max_doc_chars: int = DEFAULT_MAX_DOC_CHARS) -> Iterator[RawDoc | ReadError]:
    """One document per JSON line ({"text", "url"?, "id"?}); offset = 1-based line number.

    A line of more than JSON_BYTES_PER_CHAR × max_doc_chars + JSON_FIELD_ALLOWANCE bytes is
    rejected too_long without being held or parsed; a parsed text over max_doc_chars characters too.
    """
    ReadLimits(max_doc_chars)  # validates
    max_line = JSON_BYTES_PER_CHAR * max_doc_chars + JSON_FIELD_ALLOWANCE
    stream = gzip.GzipFile(fileobj=f) if gzipped else _buffered(f)
    line_no = 0
    try:
        while raw := stream.readline(max_line + 1):
            line_no += 1
            if len(raw) > max_line and not raw.endswith(b"\n"):
                size = _skip_rest_of_line(stream, raw)
                yield ReadError(source, line_no, "too_long",
                                f"line {line_no}: {size} bytes, over the {max_line}-byte bound for max_doc_chars="
                                f"{max_doc_chars}; not parsed", raw[:200].decode("utf-8", "replace"))
                continue
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except ValueError as e:
                yield ReadError(source, line_no, "bad_json", f"line {line_no}: {e}", raw[:200].decode("utf-8", "replace"))
                continue
            text = obj.get(text_field) if isinstance(obj, dict) else None
            if not isinstance(text, str):
                yield ReadError(source, line_no, "missing_text", f"line {line_no}: no string field {text_field!r}",
                                raw[:200].decode("utf-8", "replace"))
                continue
            if len(text) > max_doc_chars:
                yield ReadError(source, line_no, "too_long", f"line {line_no}: text of {len(text)} characters, over "
                                f"max_doc_chars={max_doc_chars}", text[:200])
                continue
            url = obj.get("url")
            rid = obj.get("id")
            yield RawDoc(source, line_no, text, url if isinstance(url, str) else None,
                         obj.get("date") if isinstance(obj.get("date"), str) else None,
                         str(rid) if rid is not None else None)
    except (OSError, EOFError, zlib.error) as e:  # truncated / corrupt gzip: the rest is unreadable
        yield ReadError(source, line_no + 1, "corrupt_record", f"file unreadable from line {line_no + 1}: {e}")


def _text_lengths(column):
    """Characters per value of a string column (None for nulls), computed in Arrow so that an
    over-long value is never turned into a Python string; None for a non-string column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
            or pa.types.is_string_view(column.type)):
        return None
    return pc.utf8_length(column)


def read_parquet(f, source: str, text_field: str = "text",
                 max_doc_chars: int = DEFAULT_MAX_DOC_CHARS) -> Iterator[RawDoc | ReadError]:
    """One document per row; offset = 0-based row index. Optional url / id / date columns.

    `f` is a random-access file (local, or remote through pyarrow's filesystem): the footer is read
    first, then one batch of PARQUET_BATCH_ROWS rows at a time through a PARQUET_READ_BUFFER-byte
    buffer, so memory follows the batch, not the file. Texts over max_doc_chars are too_long.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    ReadLimits(max_doc_chars)  # validates
    try:
        pf = pq.ParquetFile(f, buffer_size=PARQUET_READ_BUFFER, pre_buffer=False)
    except (pa.ArrowException, OSError) as e:
        yield ReadError(source, 0, "corrupt_record", f"not a readable Parquet file: {e}")
        return
    names = set(pf.schema_arrow.names)
    if text_field not in names:
        yield ReadError(source, 0, "missing_text",
                        f"Parquet file has no {text_field!r} column (columns: {sorted(names)}); set mono.text_field")
        return
    cols = [c for c in (text_field, "url", "id", "date") if c in names]
    row = 0
    try:
        for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=cols):
            column = batch.column(text_field)
            lengths = _text_lengths(column)
            if lengths is not None:
                over = pc.fill_null(pc.greater(lengths, max_doc_chars), False)
                column = pc.if_else(over, pa.scalar(None, column.type), column)  # over-long texts stay in Arrow
                lengths = lengths.to_pylist()
            texts = column.to_pylist()
            other = {c: batch.column(c).to_pylist() for c in cols if c != text_field}
            for i, text in enumerate(texts):
                if lengths is not None and lengths[i] is not None and lengths[i] > max_doc_chars:
                    yield ReadError(source, row, "too_long",
                                    f"row {row}: text of {lengths[i]} characters, over max_doc_chars={max_doc_chars}")
                elif not isinstance(text, str):
                    yield ReadError(source, row, "missing_text", f"row {row}: {text_field!r} is null or not a string")
                else:
                    rid = other["id"][i] if "id" in other else None
                    yield RawDoc(source, row, text, other["url"][i] if "url" in other else None,
                                 other["date"][i] if "date" in other else None,
                                 str(rid) if rid is not None else None)
                row += 1
    except (pa.ArrowException, OSError) as e:
        yield ReadError(source, row, "corrupt_record", f"file unreadable from row {row}: {e}")


def read_file(path: str, main_content: bool = False, text_field: str = "text", *,
              max_doc_chars: int = DEFAULT_MAX_DOC_CHARS, source: str | None = None
              ) -> Iterator[RawDoc | ReadError | Skipped]:
    """Every record of one input file, whatever its format (local path or filesystem URI).

    `max_doc_chars`: texts longer than this (and payloads over its byte bound) are rejected
    too_long before decoding/parsing (see pipelines.mono.read_warc.ReadLimits). `source`: the string
    written into every record's and reject's ``source`` (default: `path`; the mono stage passes
    pipelines.mono.sources.display_source, so outputs do not depend on where the inputs lie).
    """
    ReadLimits(max_doc_chars)  # a bad limit is a caller's bug: raise before opening anything
    fmt, gz = detect_format(path)
    name = path if source is None else source
    fs, p = filesystem(path)
    try:
        f = fs.open_input_file(p) if fmt == "parquet" else fs.open_input_stream(p, compression=None)
    except OSError as e:
        yield ReadError(name, 0, "unreadable_file", f"cannot open: {e}")
        return
    with f:
        if fmt == "parquet":
            yield from read_parquet(f, name, text_field, max_doc_chars)
            return
        stream = _buffered(f)
        mismatch = compression_mismatch(stream.peek(SNIFF_BYTES)[:SNIFF_BYTES], gz, name)
        if mismatch is not None:
            yield mismatch
        elif fmt in ("warc", "wet"):
            yield from read_warc(stream, name, gz, main_content, max_doc_chars)
        else:
            yield from read_jsonl(stream, name, gz, text_field, max_doc_chars)
