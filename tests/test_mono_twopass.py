"""The two-pass mono stage makes the same decisions as the one-pass pipeline it replaced, whatever
the chunk size, key-range count and worker count; and its dedup protocol, piece by piece.

The golden file holds a digest of every document row (all columns but the language ones and the
source folder), every reject (reason, record, offset, detail) and the docs/lines counters, as
produced by the one-pass pipeline (text joined back through four shuffles) on tests/mono_corpus.py.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from mono_corpus import make_corpus

import flows.stages.mono as mono
from flows.config import load_config
from pipelines.mono.chunks import line_keys
from pipelines.mono.exact import chunk_key_parts, contested, local_first, removed_lines, winners
from pipelines.pieces import Piece, plan_shards
from pipelines.ranges import unpack
from pipelines.shards import records
from pipelines.shuffle_counters import shuffle_bytes

GOLDEN = Path(__file__).parent / "golden" / "mono_onepass.json"
LANG_FIELDS = ("lang", "lang_score", "line_lang_frac")


def digest(docs: list[dict], rejects: list[dict], counters: dict) -> dict:
    rows = sorted(hashlib.sha1(json.dumps({k: v for k, v in d.items() if k not in LANG_FIELDS and k != "source"},
                                          sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:16]
                  for d in docs)
    rej = sorted(f"{r['reason']}|{r['record_id']}|{r['offset']}|{r['detail']}" for r in rejects)
    c = {k: v for k, v in counters.items() if k.startswith(("docs.", "lines."))}
    return {"documents": rows, "rejects": rej, "counters": dict(sorted(c.items()))}


def _run(paths, out, **over):
    cfg = load_config(None, {"out": str(out), "mono.inputs": paths, "mono.lid_threshold": 0.0,
                             "mono.quality.min_chars": 20, "mono.quality.min_words": 3, "neardup.enabled": True,
                             **over})
    report = mono.run(cfg, log_fn=lambda s: None)
    docs, rejects = records(f"{cfg.out}/documents"), records(f"{cfg.out}/rejects/mono")
    return report, docs, rejects


def _shard_bytes(out) -> dict[str, str]:
    return {os.path.relpath(f, out): hashlib.sha1(Path(f).read_bytes()).hexdigest()
            for f in glob.glob(f"{out}/*/**/*.parquet", recursive=True)}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("crawl"), mirror=False)


def test_same_decisions_as_the_one_pass_pipeline(corpus, tmp_path):
    gold = json.loads(GOLDEN.read_text())
    report, docs, rejects = _run(corpus, tmp_path / "default")
    got = digest(docs, rejects, report.counters)
    assert got["counters"] == gold["counters"]
    assert got["rejects"] == gold["rejects"]
    assert got["documents"] == gold["documents"]
    # every reason the dedup steps decide on is exercised
    assert {"exact_duplicate", "too_short_after_dedup", "near_duplicate"} <= {r["reason"] for r in rejects}
    assert report.counters["lines.dropped.duplicate"] > 100
    # no text crosses a shuffle: every shuffle is counted, and together they stay below the text read
    text = sum(len(d["text"].encode()) for d in docs)
    assert shuffle_bytes(report.counters) > 0 and any(k.startswith("shuffle.line_keys") for k in report.counters)
    print("shuffle bytes / kept text bytes", shuffle_bytes(report.counters) / text)
    # ... and the report sets them against the text read
    from flows.report.collect import collect
    from flows.report.html import render

    data = collect(tmp_path / "default")
    assert data.shuffles["mono"]["text_bytes"] == report.counters["input.text_bytes"] > text
    assert set(data.shuffles["mono"]["shuffles"]) >= {"doc_keys", "line_keys", "neardup_bands", "decisions"}
    assert "<h2>Shuffles</h2>" in render(data)


def test_decisions_do_not_depend_on_chunks_ranges_or_workers(corpus, tmp_path):
    gold = json.loads(GOLDEN.read_text())
    tiny = {"mono.chunk_mb": 0.002, "mono.dedup_keys_per_range": 50, "mono.target_shard_mb": 0.01}
    r1, docs, rejects = _run(corpus, tmp_path / "w1", **tiny)
    assert digest(docs, rejects, r1.counters)["documents"] == gold["documents"]
    r2, _, _ = _run(corpus, tmp_path / "w2", **tiny, **{"runner.workers": 2})
    assert _shard_bytes(tmp_path / "w1") == _shard_bytes(tmp_path / "w2")
    assert len(_shard_bytes(tmp_path / "w1")) > 10  # many pieces were compacted into several shards
    assert {k: v for k, v in r1.counters.items()} == {k: v for k, v in r2.counters.items()}


def test_the_same_file_in_two_folders_keeps_one_copy(tmp_path):
    """The one-pass pipeline joined decisions back by a batch key made of doc ids, so two identical
    files (same names, same ids) received each other's decisions and lost both copies."""
    paths = make_corpus(tmp_path / "crawl", n_docs=60, mirror=True)
    report, docs, rejects = _run(paths, tmp_path / "out", **{"neardup.enabled": False})
    first = [p for p in paths if "mirror" not in p and p.endswith("part-0.jsonl")][0]
    n_first = sum(1 for line in open(first, encoding="utf-8") if line.strip())
    copies = [r for r in rejects if r["reason"] == "exact_duplicate"]
    assert len(copies) >= n_first  # every twin is a copy of its original...
    kept_ids = [d["doc_id"] for d in docs]
    assert len(kept_ids) == len(set(kept_ids))  # ...and is never kept twice
    assert report.counters["docs.read"] == report.counters["docs.kept"] + sum(
        v for k, v in report.counters.items() if k.startswith("docs.dropped."))


# -------------------------------------------------------------------- the protocol, plain functions


def _keys(lines_per_doc: list[list[str]], ids: list[int]) -> dict[str, np.ndarray]:
    key, doc, line = [], [], []
    for d, lines in enumerate(lines_per_doc):
        k, n = line_keys("\n".join(lines))
        key.append(k)
        line.append(n)
        doc.append(np.full(k.size, d, np.uint32))
    return {"key": np.concatenate(key), "doc": np.concatenate(doc), "line": np.concatenate(line),
            "id_hi": np.asarray(ids, np.uint64), "id_lo": np.zeros(len(ids), np.uint64)}


def test_three_rounds_keep_the_first_occurrence_in_doc_id_order():
    # chunk 1 holds doc ids 5 and 2, chunk 2 holds doc id 3: "shared" is first in doc 2 (chunk 1),
    # "twice" first in doc 3 line 0 (chunk 2); "local" repeats only inside chunk 1.
    c1 = _keys([["shared", "local", "local"], ["x", "shared"]], [5, 2])
    c2 = _keys([["twice", "y", "shared"], ["twice"]], [3, 4])
    live1, live2 = np.ones(c1["key"].size, bool), np.ones(c2["key"].size, bool)
    parts = list(chunk_key_parts(1, c1, live1, 1)) + list(chunk_key_parts(2, c2, live2, 1))
    assert {r for r, _ in parts} == {0}
    cont = dict(contested([p for _, p in parts]))
    assert set(cont) == {1, 2} and cont[1] == cont[2]  # both chunks hear about "shared" only
    (shared,) = unpack(cont[1], np.uint64)
    firsts = [p for c, k in ((1, c1), (2, c2))
              for _, p in local_first(c, k, np.ones(k["key"].size, bool), unpack(cont[c], np.uint64), 1)]
    won = dict(winners(firsts))
    r1 = removed_lines(1, c1, live1, [won[1]])
    r2 = removed_lines(2, c2, live2, [won[2]])
    assert r1 == {0: {0, 2}}  # doc id 5 loses "shared" (doc 2 wins) and its second "local"
    assert r2 == {0: {2}, 1: {0}}  # doc id 3 loses "shared"; doc id 4 loses "twice" to doc id 3
    assert shared in unpack(won[1][0], np.uint64)


def test_compaction_plan_packs_small_pieces_and_moves_big_ones():
    ps = [Piece("documents", "eng_Latn", f"{i:03d}", 1, b) for i, b in enumerate([10, 70, 20, 20, 30, 5, 200])]
    plan = [[p.unit for p in shard] for shard in plan_shards(reversed(ps), 100)]
    assert plan == [["000"], ["001"], ["002", "003", "004", "005"], ["006"]]


def test_moving_the_inputs_keeps_every_shard_byte_identical(tmp_path):
    """`source` is named relative to the input pattern's root, chunks and pieces by input order: the
    same crawl in another folder (and another OUT) gives the same shard bytes."""
    import shutil

    here = tmp_path / "a" / "crawl"
    paths = make_corpus(here, n_docs=80, mirror=False)
    there = tmp_path / "elsewhere" / "deeper" / "crawl"
    shutil.copytree(here, there)
    _run([str(here / "*.jsonl*")], tmp_path / "out1")
    _, docs, _ = _run([str(there / "*.jsonl*")], tmp_path / "x" / "out2")
    assert _shard_bytes(tmp_path / "out1") == _shard_bytes(tmp_path / "x" / "out2")
    assert {d["source"] for d in docs} == {p.rsplit("/", 1)[-1] for p in paths}


def test_a_retried_shard_write_is_idempotent(tmp_path):
    """A bundle that moved a piece and is then retried finds the shard in place; merged pieces stay."""
    import pyarrow.parquet as pq

    from pipelines.pieces import PieceWriter, write_final_shard
    from schemas.documents import REJECTS

    rows = [{"reject_id": f"r{i}", "stage": "mono", "step": "s", "reason": "x"} for i in range(3)]
    pieces = []
    for unit in ("a", "b", "c"):
        w = PieceWriter(str(tmp_path / "work"), "rejects", unit, REJECTS)
        for r in rows:
            w.add("x", {**r, "reject_id": r["reject_id"] + unit})
        pieces += w.close()
    for _ in range(2):
        one = write_final_shard("x", 0, pieces[:1], str(tmp_path / "work"), str(tmp_path / "final"), REJECTS)
        two = write_final_shard("x", 1, pieces[1:], str(tmp_path / "work"), str(tmp_path / "final"), REJECTS)
    assert one["rows"] == 3 and two["rows"] == 6
    assert pq.read_table(tmp_path / "final" / "x" / "part-00000.parquet").num_rows == 3
    assert pq.read_table(tmp_path / "final" / "x" / "part-00001.parquet").num_rows == 6


MARKER = "Zqxjvmarkerword"


def _marker_spy(monkeypatch) -> list[int]:
    """Make every counted shuffle report elements whose encoded bytes contain MARKER (in-process
    runner: the patched function is the one the DoFns call)."""
    import pipelines.shuffle as shuffle

    seen: list[int] = []
    real = shuffle.encoded_size

    def spying(element) -> int:
        key, value = element
        if MARKER.encode() in shuffle._CODER.encode(key) + shuffle._CODER.encode(value):
            seen.append(1)
        return real(element)

    monkeypatch.setattr(shuffle, "encoded_size", spying)
    return seen


def test_no_shuffle_of_the_mono_stage_carries_document_text(tmp_path, monkeypatch):
    import json as _json

    paths = make_corpus(tmp_path / "crawl", n_docs=80, mirror=False)
    import random

    rng = random.Random(1)
    words = ["".join(rng.choice("abcdefghijklmnop") for _ in range(6)) for _ in range(500)]
    with open(paths[0], "a", encoding="utf-8") as f:  # distinct documents whose every line has the marker
        for _ in range(20):
            lines = [f"{MARKER} " + " ".join(rng.choices(words, k=12)) for _ in range(6)]
            f.write(_json.dumps({"text": "\n".join(lines)}) + "\n")
    seen = _marker_spy(monkeypatch)
    report, docs, _ = _run(paths, tmp_path / "out")
    assert sum(MARKER in d["text"] for d in docs) >= 10  # the text was read, kept and written...
    assert report.counters["shuffle.line_keys.elements"] > 0
    assert seen == []  # ...and never handed to a shuffle


def test_the_marker_spy_finds_text_where_a_shuffle_carries_it(tmp_path, monkeypatch):
    """The doc-level NearDedup joins documents back through a CoGroupByKey: the spy must see it."""
    import apache_beam as beam

    from pipelines.neardup.params import NearDupParams
    from pipelines.neardup.transform import NearDedup

    seen = _marker_spy(monkeypatch)
    docs = [{"doc_id": f"d{i}", "text": f"{MARKER} text number {i} of this small test", "source": "x"}
            for i in range(4)]
    with beam.Pipeline(runner="FnApiRunner") as p:
        _ = p | beam.Create(docs) | NearDedup(NearDupParams(), stage="t")
    assert seen
