"""Wikidata dump split for many workers: byte ranges and bz2 streams read = the whole file read.

Multi-stream bz2 files are made as pbzip2 makes them: the text cut at arbitrary byte positions (not
at line ends), each piece its own bz2 stream, concatenated.
"""

from __future__ import annotations

import bz2
import gzip
import random

import pytest

from pipelines.wiki.dump import DumpError
from pipelines.wiki.wikidata import (
    Split,
    find_stream_start,
    is_multistream,
    owned_lines,
    plan_splits,
    read_split,
    sniff,
)


def dump_body(n: int = 400, seed: int = 1) -> bytes:
    r = random.Random(seed)
    values = ["".join(r.choices("abcdefghij klmnopé", k=r.randint(0, 120))) for _ in range(n)]
    lines = [b"["] + [
        f'{{"id": "Q{i}", "labels": {{"en": {{"language": "en", "value": "{v}"}}}}}},'.encode()
        for i, v in enumerate(values)
    ] + [b"]"]
    return b"\n".join(lines) + b"\n"


def multistream(body: bytes, cuts: list[int]) -> bytes:
    edges = [0, *sorted(cuts), len(body)]
    return b"".join(bz2.compress(body[a:b]) for a, b in zip(edges, edges[1:], strict=False) if b > a)


def read_all(path: str, split_bytes: int) -> list[bytes]:
    return [line for s in plan_splits(path, split_bytes) for _, _, line in read_split(s)]


def test_owned_lines_every_boundary_of_a_small_text():
    """Two ranges cut at every byte (including exactly on and just after each newline, and with
    an empty line and no final newline) read each line exactly once."""
    for text in (b"ab\ncd\n\nefg\nh", b"\n\nx\n", b"one line no newline", b"a\n"):
        want = text.splitlines(keepends=True)
        for cut in range(1, len(text) + 1):  # only the first range starts at byte 0
            first = [line for _, line in owned_lines(
                [(text[:cut], True), (text[cut:], False)], from_start=True)]
            second = [line for _, line in owned_lines([(text[cut:], True)], from_start=False)]
            assert first + second == want, (text, cut)
        for a in range(1, len(text) + 1):  # three ranges, every pair of cuts (the middle one may be empty)
            for b in range(a, len(text) + 1):
                parts = [owned_lines([(text[:a], True), (text[a:], False)], True),
                         owned_lines([(text[a:b], True), (text[b:], False)], False),
                         owned_lines([(text[b:], True)], False)]
                got = [line for p in parts for _, line in p]
                assert got == want, (text, a, b)


def test_owned_lines_offsets_point_at_line_starts():
    text = b"ab\ncd\nef\n"
    got = list(owned_lines([(text[4:], True)], from_start=False))
    assert got == [(2, b"ef\n")]  # relative to the range's first byte (4): line "ef" starts at 6


def test_plain_json_byte_ranges_equal_the_whole_file(tmp_path):
    body = dump_body(60)
    p = tmp_path / "wd.json"
    p.write_bytes(body)
    want = body.splitlines(keepends=True)
    newlines = [i for i, c in enumerate(body) if c == ord("\n")]
    # split sizes that put a boundary exactly on a newline, just after one, and arbitrary ones
    for size in (1, 2, 3, newlines[0], newlines[0] + 1, newlines[5] + 1, 97, 4096, len(body), 10 * len(body)):
        splits = plan_splits(str(p), size)
        assert all(s.kind == "plain" for s in splits) and len(splits) == -(-len(body) // size)
        assert read_all(str(p), size) == want, size
    # byte offsets are where each line starts in the file
    line_starts = [0] + [i + 1 for i in newlines[:-1]]
    offsets = [o for s in plan_splits(str(p), 500) for o, _, _ in read_split(s)]
    assert offsets == line_starts


def test_multistream_bz2_ranges_equal_the_whole_file(tmp_path):
    body = dump_body(600)
    newlines = [i for i, c in enumerate(body) if c == ord("\n")]
    r = random.Random(3)
    # streams cut mid-line, right after a newline, and right on one
    cuts = r.sample(range(1, len(body)), 25) + [newlines[10] + 1, newlines[20], newlines[30] + 1]
    data = multistream(body, sorted(set(cuts)))
    p = tmp_path / "wd.json.bz2"
    p.write_bytes(data)
    assert is_multistream(sniff(str(p)))
    want = body.splitlines(keepends=True)
    for size in (1, 50, 333, 1000, 2048, len(data) // 3, len(data)):
        splits = plan_splits(str(p), size)
        assert {s.kind for s in splits} == {"bz2"}
        assert read_all(str(p), size) == want, size
    # every line has its own (offset, where): reject ids never collide
    places = [(o, w) for s in plan_splits(str(p), 700) for o, w, _ in read_split(s)]
    assert len(set(places)) == len(places) == len(want)


def test_stream_start_is_verified_not_just_matched(tmp_path):
    body = dump_body(50)
    good = bz2.compress(body)
    fake = b"BZh9" + bytes.fromhex("314159265359") + b"not a block at all" * 10
    p = tmp_path / "x.bz2"
    p.write_bytes(good + fake + good)
    with open(p, "rb") as f:
        at, chunks = find_stream_start(f, 1, len(good) + len(fake) + 1)
        assert at == len(good) + len(fake) and b"".join(c for c, _ in chunks) == body


def test_single_stream_bz2_and_gzip_are_one_task_per_file(tmp_path):
    body = dump_body(100)
    single, gz = tmp_path / "wd.json.bz2", tmp_path / "wd.json.gz"
    single.write_bytes(bz2.compress(body))
    gz.write_bytes(gzip.compress(body))
    for p in (single, gz):
        splits = plan_splits(str(p), 10)
        assert splits == [Split(str(p), "whole", 0, p.stat().st_size)]
        got = list(read_split(splits[0]))
        assert [line for _, _, line in got] == body.splitlines(keepends=True)
        assert [n for n, _, _ in got] == list(range(1, len(got) + 1))  # 1-based line numbers, as before


def test_truncated_multistream_is_a_dump_error(tmp_path):
    body = dump_body(300)
    data = multistream(body, [len(body) // 3, 2 * len(body) // 3])
    p = tmp_path / "cut.json.bz2"
    p.write_bytes(data[:-40])
    with pytest.raises(DumpError, match="truncated or corrupt"):
        read_all(str(p), len(data) // 2)
