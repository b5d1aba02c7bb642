"""Readers of the mono stage: gzip member resync, strict WARC/HTTP parsing, charsets, JSONL/Parquet."""

import gzip
import io
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.demo.crawl import write_warc, write_wet
from pipelines.mono.read_docs import UnknownFormatError, detect_format, read_file
from pipelines.mono.read_warc import RawDoc, ReadError, Skipped, decode_body, iter_gzip_members


def test_detect_format():
    assert detect_format("a/x.warc.gz") == ("warc", True)
    assert detect_format("x.warc.wet.gz") == ("wet", True)
    assert detect_format("x.wet") == ("wet", False)
    assert detect_format("gs://b/x.jsonl.gz") == ("jsonl", True)
    assert detect_format("x.parquet") == ("parquet", False)
    with pytest.raises(UnknownFormatError, match="unknown input format"):
        detect_format("x.txt")


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_gzip_members_resync_after_corrupt_member(chunk):
    members = [gzip.compress(os.urandom(20) + b"member %d " % i * 50, mtime=0) for i in range(5)]
    members[2] = members[2][: len(members[2]) // 2]  # truncated in the middle of the file
    data = b"".join(members) + b"trailing junk"
    offsets = [sum(len(m) for m in members[:i]) for i in range(5)]
    got = list(iter_gzip_members(io.BytesIO(data), chunk))
    assert [o for o, _, _ in got] == [*offsets, len(data) - len(b"trailing junk")]
    assert [e is None for _, _, e in got] == [True, True, False, True, True, False]
    assert got[3][1].startswith(members[3][:0]) and b"member 3" in got[3][1]


def test_decode_body_charsets():
    ru = "Привет, это текст в кодировке windows-1251 для проверки.".encode("cp1251")
    assert decode_body(ru, "text/html; charset=windows-1251").startswith("Привет")
    ja = '<meta charset="shift_jis"><p>日本語のテキストです。</p>'.encode("shift_jis")
    assert "日本語" in decode_body(ja, "text/html")  # declared in <meta> only
    # wrong declaration falls through to a strict decode that works
    assert decode_body("Größe".encode(), "text/html; charset=ascii") == "Größe"


def _items(path):
    return list(read_file(str(path)))


def test_demo_warc_every_read_reason(tmp_path):
    warc, wet = tmp_path / "d.warc.gz", tmp_path / "d.warc.wet.gz"
    write_warc(warc)
    write_wet(wet)
    items = _items(warc) + _items(wet)
    errors = {e.reason for e in items if isinstance(e, ReadError)}
    assert errors == {"corrupt_record", "bad_http_payload", "non_text_content", "http_status", "undecodable_text"}
    docs = [d for d in items if isinstance(d, RawDoc)]
    by_url = {d.url: d for d in docs}
    assert "Небольшой город" in by_url["https://rus.example.org/page-0"].text  # windows-1251
    assert "この小さな町" in by_url["https://jpn.example.org/page-0"].text  # Shift_JIS via <meta>
    assert "https://after.example.org/" in by_url  # read on after the truncated member
    assert by_url["https://empty.example.org/"].text.strip() == ""  # empty_text is decided by Normalize
    assert [s.rec_type for s in items if isinstance(s, Skipped)] == ["warcinfo"]
    assert all(e.offset >= 0 and e.source == str(warc) for e in items if isinstance(e, ReadError) and e.source == str(warc))


def test_plain_warc_rest_rejected_after_malformed_record(tmp_path):
    warc = tmp_path / "d.warc.gz"
    write_warc(warc)
    raw = b"".join(d for _, d, e in iter_gzip_members(open(warc, "rb")) if e is None)
    plain = tmp_path / "p.warc"
    plain.write_bytes(raw[:5000] + b"\r\n\r\nGARBAGE not a record" + raw[5000:])
    items = _items(plain)
    assert isinstance(items[-1], ReadError) and items[-1].reason == "corrupt_record"
    assert sum(isinstance(i, RawDoc) for i in items) >= 1


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
