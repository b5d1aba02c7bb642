"""Faults of the input readers (issue 12), one case per input a user can bring: lying
Content-Lengths (plain and gzipped), binaries labelled text/html, a plain WARC named .gz, gzip named
plain, giant one-line records.

Each case holds at the reader (exact reasons; every planted record read exactly once) and all of
them together through `xlcorpus build` (exit 0, the reasons in rejects/, read = kept + dropped by
reason, read = the records planted, no WARC header or PDF bytes inside a kept document).
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flows.demo.crawl_text import SENTENCES
from pipelines.mono.read_docs import read_file
from pipelines.mono.read_warc import ReadError, Skipped

READER_REASONS = {"bad_record_length", "corrupt_record", "non_text_content", "not_gzip", "too_long"}


def _page(k: int) -> bytes:
    paras = "".join(f"<p>{SENTENCES['eng'][(k + i) % 12]} {SENTENCES['eng'][(k + i + 5) % 12]}</p>" for i in range(3))
    return f"<!DOCTYPE html><html><body><h1>Page {k}</h1>{paras}</body></html>".encode()


def _response(url: str, body: bytes, content_type: str = "text/html; charset=utf-8", delta: int = 0) -> bytes:
    """A WARC response record; `delta` makes its Content-Length lie by that many bytes."""
    block = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\r\n".encode() + body
    return (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {url}\r\nWARC-Record-ID: <urn:x:{url}>\r\n"
            f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(block) + delta}\r\n\r\n"
            ).encode() + block + b"\r\n\r\n"


def _conversion(url: str, text: str) -> bytes:
    block = text.encode()
    return (f"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: {url}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(block)}\r\n\r\n").encode() + block + b"\r\n\r\n"


def _pages(name: str, n: int, lying: dict[int, int] | None = None) -> list[bytes]:
    return [_response(f"https://{name}.example.org/{k}", _page(k), delta=(lying or {}).get(k, 0)) for k in range(n)]


def _members(records: list[bytes]) -> bytes:
    return b"".join(gzip.compress(r, mtime=0) for r in records)


PDF = b"%PDF-1.4\n1 0 obj << >> endobj\nBT (" + SENTENCES["eng"][0].encode() + b") Tj ET\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
SMALL = " ".join(SENTENCES["eng"][:4])


@dataclass(frozen=True)
class Case:
    name: str  # file name: its extension picks the reader
    data: bytes
    records: int  # records a reader must count read (a wholly unreadable file counts as one)
    reasons: dict[str, int]  # reader reject reason -> count


def cases() -> list[Case]:
    giant_wet = _members([_conversion("https://wet.example.org/0", SMALL),
                          _conversion("https://wet.example.org/giant", "x" * (5 << 20)),  # over 4 × 1,000,000 bytes
                          _conversion("https://wet.example.org/2", SMALL)])
    giant_jsonl = "".join(json.dumps({"text": t, "url": f"https://jsonl.example.org/{i}"}) + "\n"
                          for i, t in enumerate([SMALL, "y" * (7 << 20), SMALL]))  # over 6 × 1,000,000 bytes
    binaries = [_response("https://bin.example.org/ok", _page(1)),
                _response("https://bin.example.org/report.pdf", PDF),
                _response("https://bin.example.org/logo", PNG)]
    return [
        Case("plain-too-long.warc", b"".join(_pages("plainlong", 5, {2: 60})), 5, {"bad_record_length": 1}),
        Case("plain-too-short.warc", b"".join(_pages("plainshort", 5, {2: -25})), 5, {"bad_record_length": 1}),
        Case("members-too-short.warc.gz", _members(_pages("gzshort", 5, {1: -25})), 5, {"bad_record_length": 1}),
        Case("members-too-long.warc.gz", _members(_pages("gzlong", 5, {1: 60})), 5, {"bad_record_length": 1}),
        Case("one-member-too-long.warc.gz", gzip.compress(b"".join(_pages("onemember", 5, {3: 60})), mtime=0), 5,
             {"bad_record_length": 1}),
        Case("binary-as-html.warc.gz", _members(binaries), 3, {"non_text_content": 2}),
        Case("plain-named-gz.warc.gz", b"".join(_pages("notgz", 3)), 1, {"not_gzip": 1}),
        Case("gzip-named-plain.warc", _members(_pages("gzplain", 3)), 1, {"corrupt_record": 1}),
        Case("giant.warc.wet.gz", giant_wet, 3, {"too_long": 1}),
        Case("giant.jsonl", giant_jsonl.encode(), 3, {"too_long": 1}),
    ]


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.name)
def test_reader_case(tmp_path, case):
    path = tmp_path / case.name
    path.write_bytes(case.data)
    items = [i for i in read_file(str(path)) if not isinstance(i, Skipped)]
    assert len(items) == case.records  # each record read exactly once: kept or rejected, never both
    assert Counter(i.reason for i in items if isinstance(i, ReadError)) == Counter(case.reasons)
    for doc in items:
        text = getattr(doc, "text", "")
        assert "WARC/1.0" not in text and "WARC-Type" not in text and "%PDF" not in text


@pytest.mark.usefixtures("prefect_harness")
def test_build_over_every_fault(tmp_path):
    from flows.cli import app
    from pipelines.shards import records
    from schemas.manifest import read_manifest, reconcile

    crawl = tmp_path / "crawl"
    crawl.mkdir()
    all_cases = cases()
    for case in all_cases:
        (crawl / case.name).write_bytes(case.data)
    cfg = tmp_path / "faults.yaml"
    cfg.write_text(yaml.safe_dump({"out": str(tmp_path / "out"), "stages": ["mono"],
                                   "mono": {"inputs": [str(crawl / "*")]}, "neardup": {"enabled": False}}))
    result = CliRunner().invoke(app, ["build", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    c = read_manifest(str(tmp_path / "out" / "documents")).counters
    assert reconcile(c) == []
    dropped = {k.removeprefix("docs.dropped."): v for k, v in c.items() if k.startswith("docs.dropped.")}
    assert c["docs.read"] == sum(case.records for case in all_cases) == c["docs.kept"] + sum(dropped.values())
    rejects = [r for r in records(str(tmp_path / "out" / "rejects" / "mono")) if r["step"] == "ReadWarc"]
    for case in all_cases:
        got = Counter(r["reason"] for r in rejects if r["source"].endswith(case.name))
        assert got == Counter(case.reasons), case.name
        assert all(r["detail"] for r in rejects if r["source"].endswith(case.name))
    assert {r["reason"] for r in rejects} <= READER_REASONS
    texts = [d["text"] for d in records(str(tmp_path / "out" / "documents"))]
    assert texts and not any("WARC/1.0" in t or "WARC-Type" in t or "%PDF" in t for t in texts)
    assert "bad_record_length" in " ".join(result.output.split())


def test_case_files_are_what_they_claim():
    """The planted faults are real: the lying records do lie, the binaries start with their magic."""
    by_name = {c.name: c for c in cases()}
    assert b"Content-Length" in by_name["plain-too-long.warc"].data
    assert by_name["plain-named-gz.warc.gz"].data.startswith(b"WARC/1.0")
    assert by_name["gzip-named-plain.warc"].data.startswith(b"\x1f\x8b")
    assert gzip.decompress(by_name["binary-as-html.warc.gz"].data).count(b"text/html") == 3
    assert Path(by_name["giant.jsonl"].name).suffix == ".jsonl" and len(by_name["giant.jsonl"].data) > 7 << 20
