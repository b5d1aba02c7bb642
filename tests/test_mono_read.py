"""Readers of the mono stage: gzip members, strict WARC framing with resync, sniffing, size limits,
charsets, JSONL/Parquet, sources."""

import gzip
import io
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.demo.crawl import write_warc, write_wet
from pipelines.mono.read_docs import UnknownFormatError, detect_format, read_file, read_parquet
from pipelines.mono.read_warc import (
    GzipMember,
    GzipProblem,
    RawDoc,
    ReadError,
    Skipped,
    WarcRecord,
    decode_body,
    frame_records,
    iter_gzip_members,
)
from pipelines.mono.sniff import sniff_binary
from pipelines.mono.sources import SourceOutsidePatternError, display_source, pattern_root


def test_detect_format():
    assert detect_format("a/x.warc.gz") == ("warc", True)
    assert detect_format("x.warc.wet.gz") == ("wet", True)
    assert detect_format("x.wet") == ("wet", False)
    assert detect_format("gs://b/x.jsonl.gz") == ("jsonl", True)
    assert detect_format("x.parquet") == ("parquet", False)
    with pytest.raises(UnknownFormatError, match="unknown input format"):
        detect_format("x.txt")


def _members(data: bytes, chunk: int) -> list[tuple[int, bytes | None, str | None]]:
    """(offset, inflated bytes or None, error or None) of every member / problem of a .gz stream."""
    out = []
    for m in iter_gzip_members(io.BytesIO(data), chunk):
        if isinstance(m, GzipProblem):
            out.append((m.offset, None, m.detail))
            continue
        parts = []
        try:
            while piece := m.read(5):
                parts.append(piece)
            out.append((m.offset, b"".join(parts), None))
        except Exception as e:  # CorruptMemberError
            out.append((m.offset, None, str(e)))
    return out


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_gzip_members_resync_after_corrupt_member(chunk):
    members = [gzip.compress(os.urandom(20) + b"member %d " % i * 50, mtime=0) for i in range(5)]
    members[2] = members[2][: len(members[2]) // 2]  # truncated in the middle of the file
    data = b"".join(members) + b"trailing junk"
    offsets = [sum(len(m) for m in members[:i]) for i in range(5)]
    got = _members(data, chunk)
    assert [o for o, _, _ in got] == [*offsets, len(data) - len(b"trailing junk")]
    assert [e is None for _, _, e in got] == [True, True, False, True, True, False]
    assert got[3][1] == gzip.decompress(members[3])


def test_gzip_member_is_a_stream_not_a_copy():
    """A member is inflated piece by piece: a reader asking for 1 KiB never gets more."""
    data = gzip.compress(b"x" * (8 << 20), mtime=0)
    member = next(iter_gzip_members(io.BytesIO(data)))
    assert isinstance(member, GzipMember)
    sizes = []
    while piece := member.read(1024):
        sizes.append(len(piece))
    assert max(sizes) <= 1024 and sum(sizes) == 8 << 20


def test_decode_body_charsets():
    ru = "Привет, это текст в кодировке windows-1251 для проверки.".encode("cp1251")
    assert decode_body(ru, "text/html; charset=windows-1251").startswith("Привет")
    ja = '<meta charset="shift_jis"><p>日本語のテキストです。</p>'.encode("shift_jis")
    assert "日本語" in decode_body(ja, "text/html")  # declared in <meta> only
    # wrong declaration falls through to a strict decode that works
    assert decode_body("Größe".encode(), "text/html; charset=ascii") == "Größe"


def _items(path, **kw):
    return list(read_file(str(path), **kw))


def _reasons(items):
    return [i.reason for i in items if isinstance(i, ReadError)]


def test_demo_warc_every_read_reason(tmp_path):
    warc, wet = tmp_path / "d.warc.gz", tmp_path / "d.warc.wet.gz"
    write_warc(warc)
    write_wet(wet)
    items = _items(warc) + _items(wet)
    assert set(_reasons(items)) == {"corrupt_record", "bad_http_payload", "non_text_content", "http_status",
                                    "undecodable_text", "bad_record_length"}
    docs = [d for d in items if isinstance(d, RawDoc)]
    by_url = {d.url: d for d in docs}
    assert "Небольшой город" in by_url["https://rus.example.org/page-0"].text  # windows-1251
    assert "この小さな町" in by_url["https://jpn.example.org/page-0"].text  # Shift_JIS via <meta>
    assert "https://after.example.org/" in by_url  # read on after the truncated member
    assert "https://resync.example.org/" in by_url  # read on after the lying Content-Length
    assert "WARC" not in by_url["https://resync.example.org/"].text
    assert "https://liar.example.org/" not in by_url and "https://docs.example.org/annual-report" not in by_url
    pdf = next(e for e in items if isinstance(e, ReadError) and e.url == "https://docs.example.org/annual-report")
    assert pdf.reason == "non_text_content" and "PDF" in pdf.detail
    assert by_url["https://empty.example.org/"].text.strip() == ""  # empty_text is decided by Normalize
    assert [s.rec_type for s in items if isinstance(s, Skipped)] == ["warcinfo"]
    assert all(e.offset >= 0 and e.source == str(warc) for e in items if isinstance(e, ReadError) and e.source == str(warc))


# ------------------------------------------------------------------------------------------ framing


def _record(url: str, text: str = "hello", delta: int = 0, rec_type: str = "response") -> bytes:
    """A WARC response record of one small HTML page; `delta` makes its Content-Length lie."""
    body = f"<html><body><p>{text} from {url}</p></body></html>".encode()
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body
    return (f"WARC/1.0\r\nWARC-Type: {rec_type}\r\nWARC-Target-URI: {url}\r\n"
            f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http) + delta}\r\n\r\n"
            ).encode() + http + b"\r\n\r\n"


def _warc_file(tmp_path, records: list[bytes], layout: str) -> str:
    """`layout`: plain (.warc), members (.warc.gz, one member per record) or one_member (.warc.gz)."""
    if layout == "plain":
        path, data = tmp_path / "x.warc", b"".join(records)
    elif layout == "members":
        path, data = tmp_path / "x.warc.gz", b"".join(gzip.compress(r, mtime=0) for r in records)
    else:
        path, data = tmp_path / "x.warc.gz", gzip.compress(b"".join(records), mtime=0)
    path.write_bytes(data)
    return str(path)


LAYOUTS = ["plain", "members", "one_member"]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("delta", [60, -12, 5000], ids=["long-into-next-headers", "short", "long-past-next"])
def test_lying_content_length_rejected_once_and_resynced(tmp_path, layout, delta):
    records = [_record(f"https://x.org/{i}") for i in range(5)]
    records[2] = _record("https://x.org/2", delta=delta)
    items = _items(_warc_file(tmp_path, records, layout))
    assert len(items) == 5  # every record counted read exactly once
    assert [i.url for i in items if isinstance(i, RawDoc)] == [f"https://x.org/{i}" for i in (0, 1, 3, 4)]
    (bad,) = [i for i in items if isinstance(i, ReadError)]
    assert bad.reason == "bad_record_length" and bad.url == "https://x.org/2"
    assert all("WARC" not in i.text for i in items if isinstance(i, RawDoc))


@pytest.mark.parametrize("chunk", [3, 50, 1 << 20])
def test_framing_independent_of_chunk_size(chunk):
    records = [_record(f"https://x.org/{i}") for i in range(4)]
    records[1] = _record("https://x.org/1", delta=40)
    data = b"junk before\r\n" + b"".join(records)
    frames = list(frame_records(io.BytesIO(data).read, 1 << 20, chunk=chunk))
    kinds = [(type(f).__name__, getattr(f, "reason", None)) for f in frames]
    assert kinds == [("FramingError", "corrupt_record"), ("WarcRecord", None), ("FramingError", "bad_record_length"),
                     ("WarcRecord", None), ("WarcRecord", None)]
    assert [f.start for f in frames if isinstance(f, WarcRecord)] == [
        13, 13 + len(records[0]) + len(records[1]), 13 + len(records[0]) + len(records[1]) + len(records[2])]


def test_plain_warc_reads_on_after_malformed_bytes(tmp_path):
    warc = tmp_path / "d.warc.gz"
    write_warc(warc)
    raw = b"".join(d for _, d, e in _members(warc.read_bytes(), 1 << 20) if e is None)
    plain = tmp_path / "p.warc"
    plain.write_bytes(raw[:5000] + b"\r\n\r\nGARBAGE not a record" + raw[5000:])
    items = _items(plain)
    clean = tmp_path / "c.warc"
    clean.write_bytes(raw)
    ref = _items(clean)
    assert len(items) == len(ref)  # the broken record is one reject, nothing else is lost
    assert _reasons(items).count("bad_record_length") == _reasons(ref).count("bad_record_length") + 1
    assert sum(isinstance(i, RawDoc) for i in items) == sum(isinstance(i, RawDoc) for i in ref) - 1


def test_truncated_plain_file_and_truncated_header(tmp_path):
    records = [_record(f"https://x.org/{i}") for i in range(3)]
    data = b"".join(records)
    for cut, detail in ((len(data) - 30, "record truncated"), (len(data) - len(records[2]) + 40, "ends inside a WARC header")):
        path = tmp_path / "t.warc"
        path.write_bytes(data[:cut])
        items = _items(path)
        assert len(items) == 3 and isinstance(items[-1], ReadError)
        assert items[-1].reason == "corrupt_record" and detail in items[-1].detail


def test_bad_warc_headers_then_resync(tmp_path):
    records = [_record(f"https://x.org/{i}") for i in range(3)]
    records[1] = records[1].replace(b"Content-Length: ", b"Content-Length: x")
    items = _items(_warc_file(tmp_path, records, "plain"))
    assert [type(i).__name__ for i in items] == ["RawDoc", "ReadError", "RawDoc"]
    assert items[1].reason == "corrupt_record" and "bad WARC headers" in items[1].detail


def test_oversized_lying_record_rejects_the_records_it_swallowed(tmp_path):
    """A block too large to hold is streamed past; when its length lies, the records inside its
    claimed bytes cannot be re-read, so each is one reject — the count still reconciles."""
    records = [_record(f"https://x.org/{i}") for i in range(6)]
    big = "y" * (70 << 10)  # over the block bound of max_doc_chars=40: 160 B + 64 KiB
    records[1] = _record("https://x.org/1", big, delta=len(b"".join(records[2:4])) + 10)
    for layout in ("plain", "one_member"):
        items = _items(_warc_file(tmp_path, records, layout), max_doc_chars=40)
        assert len(items) == 6
        reasons = [(getattr(i, "url", None), i.reason) for i in items if isinstance(i, ReadError)]
        assert ("https://x.org/1", "bad_record_length") in reasons
        # records 2, 3 and 4 start inside the claimed bytes (which end 10 bytes into record 4)
        assert sum(r == "bad_record_length" for _, r in reasons) == 4
        assert [i.url for i in items if isinstance(i, RawDoc)] == ["https://x.org/0", "https://x.org/5"]


# ------------------------------------------------------------------------------------------ sniffing


@pytest.mark.parametrize("payload,kind", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"), (b"\x89PNG\r\n\x1a\n" + bytes(20), "PNG"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG"), (b"GIF89a\x01\x00", "GIF"), (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "WebP"),
    (b"PK\x03\x04\x14\x00\x06\x00", "ZIP"), (b"\x1f\x8b\x08\x00", "gzip"), (b"\x7fELF\x02\x01\x01", "ELF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE2"), (b"MZ\x90\x00\x03\x00\x00\x00", "Windows executable"),
])
def test_sniff_binary(payload, kind):
    assert kind in sniff_binary(payload)


@pytest.mark.parametrize("text", [b"BMW unveils its new model", b"MZ Racing team news", b"ID3 tags explained",
                                  b"<!DOCTYPE html><html>", b"PK is short for Pakistan", b"%PDF is a file format"])
def test_sniff_leaves_text_alone(text):
    assert sniff_binary(text) is None


@pytest.mark.parametrize("layout", ["plain", "members"])
def test_binary_payload_labelled_html_is_non_text(tmp_path, layout):
    page = _record("https://x.org/ok")
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    recs = [page]
    for url, body in (("https://x.org/pdf", b"%PDF-1.4\nBT (An English sentence that would pass LID) Tj ET"),
                      ("https://x.org/png", b"\x89PNG\r\n\x1a\n" + bytes(64))):
        block = http + body
        recs.append(f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {url}\r\nContent-Length: {len(block)}\r\n\r\n"
                    .encode() + block + b"\r\n\r\n")
    items = _items(_warc_file(tmp_path, recs, layout))
    assert [(i.url, i.reason) for i in items if isinstance(i, ReadError)] == [
        ("https://x.org/pdf", "non_text_content"), ("https://x.org/png", "non_text_content")]


def test_wet_binary_block_is_non_text(tmp_path):
    block = b"\x89PNG\r\n\x1a\n" + bytes(40)
    rec = (f"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: https://x.org/\r\nContent-Length: {len(block)}\r\n\r\n"
           .encode() + block + b"\r\n\r\n")
    (path := tmp_path / "x.warc.wet.gz").write_bytes(gzip.compress(rec, mtime=0))
    assert _reasons(_items(path)) == ["non_text_content"]


@pytest.mark.parametrize("name,content,starts", [
    ("plain.warc.gz", _record("https://x.org/"), "uncompressed WARC"),
    ("plain.jsonl.gz", b'{"text": "hello"}\n', "uncompressed JSON"),
    ("plain.warc.wet.gz", b"\x00\x01garbage", "bytes"),
])
def test_not_gzip_is_one_clear_reject(tmp_path, name, content, starts):
    (tmp_path / name).write_bytes(content)
    (item,) = _items(tmp_path / name)
    assert item.reason == "not_gzip" and "not gzip-compressed" in item.detail and starts in item.detail
    assert "incorrect header check" not in item.detail


def test_gzip_without_gz_name_is_one_clear_reject(tmp_path):
    (tmp_path / "x.warc").write_bytes(gzip.compress(_record("https://x.org/"), mtime=0))
    (item,) = _items(tmp_path / "x.warc")
    assert item.reason == "corrupt_record" and "add .gz" in item.detail


# ---------------------------------------------------------------------------------------- too_long


def test_too_long_rule_per_format(tmp_path):
    """max_doc_chars=100: a text of 100 characters passes, 101 is too_long, in every format; a
    multi-byte text of 100 characters passes although it has more than 100 bytes."""
    ok, over, wide = "a" * 100, "a" * 101, "ж" * 100
    for name, texts in (("d.jsonl", [ok, over, wide]), ("d.parquet", [ok, over, wide])):
        path = tmp_path / name
        if name.endswith(".parquet"):
            pq.write_table(pa.table({"text": texts}), path)
        else:
            path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
        items = _items(path, max_doc_chars=100)
        assert [getattr(i, "reason", "kept") for i in items] == ["kept", "too_long", "kept"], name
    recs = [_raw("conversion", t.encode()) for t in (ok, over, wide)]
    (wet := tmp_path / "d.warc.wet.gz").write_bytes(b"".join(gzip.compress(r, mtime=0) for r in recs))
    assert [getattr(i, "reason", "kept") for i in _items(wet, max_doc_chars=100)] == ["kept", "too_long", "kept"]
    # HTML: the limit is on the extracted text, the markup only counts against the byte bound
    page = "<html><body>" + "<p>" + "b" * 90 + "</p>" + "<!-- comment -->" * 10 + "</body></html>"
    rec = _raw("resource", page.encode(), content_type="text/html; charset=utf-8")
    (res := tmp_path / "r.warc").write_bytes(rec)
    assert isinstance(_items(res, max_doc_chars=100)[0], RawDoc)


def _raw(rec_type: str, block: bytes, content_type: str = "text/plain", url: str = "https://x.org/") -> bytes:
    return (f"WARC/1.0\r\nWARC-Type: {rec_type}\r\nWARC-Target-URI: {url}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(block)}\r\n\r\n").encode() + block + b"\r\n\r\n"


def test_max_doc_chars_must_be_positive(tmp_path):
    (tmp_path / "x.jsonl").write_text('{"text": "a"}\n')
    with pytest.raises(ValueError, match="max_doc_chars"):
        _items(tmp_path / "x.jsonl", max_doc_chars=0)


def test_http_body_inflating_past_the_bound_is_too_long(tmp_path):
    body = gzip.compress(b"<p>" + b"z" * 100_000 + b"</p>", mtime=0)
    block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n" + body
    (path := tmp_path / "x.warc").write_bytes(_raw("response", block, "application/http; msgtype=response"))
    (item,) = _items(path, max_doc_chars=1000)
    assert item.reason == "too_long" and "inflates past 4000 bytes" in item.detail


def _giant_records(tmp_path, size: int) -> dict[str, str]:
    """One file per format, each holding a small record, a `size`-byte one-line record, a small one."""
    small = "A short document. " * 20
    giant = "x" * size
    wet_members = [gzip.compress(_raw("conversion", t.encode()), mtime=0) for t in (small, giant, small)]
    paths = {"wet": tmp_path / "g.warc.wet.gz", "warc": tmp_path / "g.warc", "jsonl": tmp_path / "g.jsonl"}
    paths["wet"].write_bytes(b"".join(wet_members))
    paths["warc"].write_bytes(b"".join(_raw("conversion", t.encode()) for t in (small, giant, small)))
    with open(paths["jsonl"], "w") as f:
        for t in (small, giant, small):
            f.write(json.dumps({"text": t}) + "\n")
    return {k: str(v) for k, v in paths.items()}


def _peak_traced(fn) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_giant_record_is_rejected_without_being_held(tmp_path):
    """A 50 MB one-line record costs the reader about what a small one does: it is streamed past
    (WARC/WET) or skipped line piece by line piece (JSONL), never held, parsed or normalized."""
    (tmp_path / "big").mkdir()
    (tmp_path / "small").mkdir()
    big = _giant_records(tmp_path / "big", 50 << 20)
    small = _giant_records(tmp_path / "small", 2_000)
    for fmt in ("wet", "warc", "jsonl"):
        items = list(read_file(big[fmt], max_doc_chars=100_000))
        assert [getattr(i, "reason", "kept") for i in items] == ["kept", "too_long", "kept"], fmt
        peak_big = _peak_traced(lambda p=big[fmt]: list(read_file(p, max_doc_chars=100_000)))
        peak_small = _peak_traced(lambda p=small[fmt]: list(read_file(p, max_doc_chars=100_000)))
        # The reader holds ~one chunk either way; a held 50 MB record would make this ratio ~25+.
        assert peak_big < 3 * peak_small + (2 << 20), (fmt, peak_big, peak_small)


# ------------------------------------------------------------------------------------- JSONL/Parquet


def test_jsonl_and_parquet(tmp_path):
    rows = [{"text": "Hallo Welt", "url": "u1", "id": 7}, {"nope": 1}, {"text": "Second doc"}]
    path = tmp_path / "d.jsonl.gz"
    payload = ("\n".join(json.dumps(r) for r in rows) + "\n{broken\n").encode()
    path.write_bytes(gzip.compress(payload, mtime=0))
    items = _items(path)
    assert [type(i).__name__ for i in items] == ["RawDoc", "ReadError", "RawDoc", "ReadError"]
    assert items[0].record_id == "7" and items[0].offset == 1 and items[1].reason == "missing_text"
    assert items[3].reason == "bad_json"
    cut = tmp_path / "cut.jsonl.gz"
    whole = gzip.compress(b"".join(json.dumps({"text": f"doc {i} " + os.urandom(8).hex()}).encode() + b"\n"
                                   for i in range(200)), mtime=0)
    cut.write_bytes(whole[: len(whole) // 2])
    tail = _items(cut)[-1]
    assert isinstance(tail, ReadError) and tail.reason == "corrupt_record"
    pq.write_table(pa.table({"text": ["a doc", None], "url": ["x", "y"]}), tmp_path / "d.parquet")
    items = _items(tmp_path / "d.parquet")
    assert items[0].text == "a doc" and items[1].reason == "missing_text"
    pq.write_table(pa.table({"body": ["a"]}), tmp_path / "n.parquet")
    assert _items(tmp_path / "n.parquet")[0].reason == "missing_text"
    pq.write_table(pa.table({"text": [1, 2]}), tmp_path / "i.parquet")
    assert _reasons(_items(tmp_path / "i.parquet")) == ["missing_text", "missing_text"]


class _CountingFile(io.RawIOBase):
    """A seekable file that records how many bytes each read asked for."""

    def __init__(self, data: bytes):
        self._f = io.BytesIO(data)
        self.reads: list[int] = []

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, pos, whence=0):
        return self._f.seek(pos, whence)

    def tell(self):
        return self._f.tell()

    def readinto(self, b):
        n = self._f.readinto(b)
        self.reads.append(n)
        return n


def test_parquet_streams_by_batch(tmp_path):
    """A (remote-sized) Parquet file is read a batch at a time: the first document arrives after a
    small part of the file was read, and no single read takes the file whole."""
    texts = [os.urandom(600).hex() for _ in range(2000)]  # ~2.4 MB of incompressible text
    sink = io.BytesIO()
    pq.write_table(pa.table({"text": texts}), sink, row_group_size=100, compression="none")
    data = sink.getvalue()
    counting = _CountingFile(data)
    items = read_parquet(pa.PythonFile(counting, mode="r"), "s.parquet")
    assert next(items).text == texts[0]
    assert sum(counting.reads) < len(data) // 4
    rest = list(items)
    assert [d.text for d in rest] == texts[1:] and max(counting.reads) < len(data) // 4


# ------------------------------------------------------------------------------------------ sources


def test_display_source(tmp_path, monkeypatch):
    assert pattern_root("/data/crawl/*.warc.gz") == "/data/crawl"
    assert pattern_root("crawl/2024-*/part-[0-9].gz") == "crawl"
    assert pattern_root("crawl/one.warc.gz") == "crawl"
    assert pattern_root("*.gz") == "."
    assert display_source("/data/crawl/a/x.warc.gz", "/data/crawl/*/x*.gz") == "a/x.warc.gz"
    assert display_source("/data/crawl/x.warc.gz", "/data/crawl/x.warc.gz") == "x.warc.gz"
    assert display_source("gs://bucket/crawl/x.warc.gz", "gs://bucket/crawl/*.gz") == "gs://bucket/crawl/x.warc.gz"
    monkeypatch.chdir(tmp_path)
    assert display_source(str(tmp_path / "in" / "x.gz"), "in/*.gz") == "x.gz"  # relative pattern, absolute path
    with pytest.raises(SourceOutsidePatternError):
        display_source("/elsewhere/x.gz", "/data/crawl/*.gz")


def test_source_parameter_makes_records_location_independent(tmp_path):
    for folder in ("a", "b/deeper"):
        (tmp_path / folder).mkdir(parents=True)
        write_warc(tmp_path / folder / "demo.warc.gz")
    runs = []
    for folder in ("a", "b/deeper"):
        path = str(tmp_path / folder / "demo.warc.gz")
        runs.append(_items(path, source=display_source(path, str(tmp_path / folder / "*.warc.gz"))))
    assert runs[0] == runs[1]
    assert {i.source for i in runs[0] if not isinstance(i, Skipped)} == {"demo.warc.gz"}


@pytest.mark.parametrize("seed", range(12))
def test_random_lies_each_record_read_once(tmp_path, seed):
    """Random files of records with random lying lengths, read with random chunk sizes: every
    record is read exactly once, and exactly the honest ones are kept."""
    import random

    rng = random.Random(seed)
    n = rng.randint(3, 12)
    deltas = [0 if rng.random() < 0.6 else rng.choice([rng.randint(-30, -5), rng.randint(5, 200)]) for _ in range(n)]
    records = [_record(f"https://x.org/{i}", "word " * rng.randint(1, 40), delta=d) for i, d in enumerate(deltas)]
    layout = rng.choice(LAYOUTS)
    path = _warc_file(tmp_path, records, layout)
    from pipelines.mono.read_warc import read_warc

    with open(path, "rb") as f:
        items = list(read_warc(f, path, layout != "plain"))
    assert len(items) == n, (layout, deltas)
    assert [i.url for i in items if isinstance(i, RawDoc)] == [f"https://x.org/{i}" for i, d in enumerate(deltas) if d == 0]
    if layout == "plain":  # the framing alone, at a random chunk size
        frames = list(frame_records(open(path, "rb").read, 1 << 20, chunk=rng.choice([1, 7, 64, 4096])))
        assert len(frames) == n
