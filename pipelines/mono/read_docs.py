"""Input formats by file name, and readers for JSONL / Parquet document files.

Every reader yields RawDoc / ReadError / Skipped (pipelines.mono.read_warc) and never raises on bad
data: a bad line or row is a ReadError, an unreadable rest of a file is one ReadError saying so.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator

from pipelines.mono.read_warc import RawDoc, ReadError, Skipped, read_warc
from pipelines.shards import filesystem

FORMATS = ("warc", "wet", "jsonl", "parquet")


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


def read_jsonl(f, source: str, gzipped: bool, text_field: str = "text") -> Iterator[RawDoc | ReadError]:
    """One document per JSON line ({"text", "url"?, "id"?}); offset = 1-based line number."""
    # pyarrow streams have no line iteration: a buffered reader gives it (gzip included).
    stream = gzip.GzipFile(fileobj=f) if gzipped else io.BufferedReader(f, 1 << 16)
    line_no = 0
    try:
        for raw in stream:
            line_no += 1
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
            url = obj.get("url")
            rid = obj.get("id")
            yield RawDoc(source, line_no, text, url if isinstance(url, str) else None,
                         obj.get("date") if isinstance(obj.get("date"), str) else None,
                         str(rid) if rid is not None else None)
    except (OSError, EOFError, zlib.error) as e:  # truncated / corrupt gzip: the rest is unreadable
        yield ReadError(source, line_no + 1, "corrupt_record", f"file unreadable from line {line_no + 1}: {e}")


def read_parquet(f, source: str, text_field: str = "text") -> Iterator[RawDoc | ReadError]:
    """One document per row; offset = 0-based row index. Optional url / id / date columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(f)
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
        for batch in pf.iter_batches(batch_size=1024, columns=cols):
            data = batch.to_pydict()
            for i in range(batch.num_rows):
                text = data[text_field][i]
                if not isinstance(text, str):
                    yield ReadError(source, row, "missing_text", f"row {row}: {text_field!r} is null or not a string")
                else:
                    rid = data["id"][i] if "id" in data else None
                    yield RawDoc(source, row, text, data["url"][i] if "url" in data else None,
                                 data["date"][i] if "date" in data else None,
                                 str(rid) if rid is not None else None)
                row += 1
    except (pa.ArrowException, OSError) as e:
        yield ReadError(source, row, "corrupt_record", f"file unreadable from row {row}: {e}")


def read_file(path: str, main_content: bool = False, text_field: str = "text") -> Iterator[RawDoc | ReadError | Skipped]:
    """Every record of one input file, whatever its format (local path or filesystem URI)."""
    fmt, gz = detect_format(path)
    fs, p = filesystem(path)
    try:
        f = fs.open_input_file(p) if fmt == "parquet" else fs.open_input_stream(p, compression=None)
    except OSError as e:
        yield ReadError(path, 0, "unreadable_file", f"cannot open: {e}")
        return
    with f:
        if fmt in ("warc", "wet"):
            yield from read_warc(f, path, gz, main_content)
        elif fmt == "jsonl":
            yield from read_jsonl(f, path, gz, text_field)
        else:
            yield from read_parquet(f, path, text_field)
