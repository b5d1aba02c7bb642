"""Core contracts: schema identity, manifests and their reconciliation, shard writer determinism."""

from __future__ import annotations

import json

import apache_beam as beam
import pyarrow as pa
import pytest

from pipelines.ids import stable_hash64, stable_id
from pipelines.scripts import dominant_script
from pipelines.shards import WriteShards, records
from schemas import DOCUMENTS, REJECTS, TOKENS, schema_id
from schemas.manifest import ManifestError, build_manifest, reconcile, validate, write_manifest

SMALL = pa.schema(
    [pa.field("rid", pa.string(), nullable=False), pa.field("lang", pa.string()), pa.field("x", pa.int64())],
    metadata={b"xlcorpus.schema": b"small", b"xlcorpus.schema_version": b"1"},
)


def test_schema_identity():
    assert schema_id(DOCUMENTS) == ("documents", 1)
    assert schema_id(REJECTS) == ("rejects", 1)
    assert schema_id(TOKENS) == ("tokens", 2)
    with pytest.raises(ValueError):
        schema_id(pa.schema([pa.field("a", pa.int32())]))


def test_stable_ids_are_stable_and_unambiguous():
    assert stable_id("a", "bc") != stable_id("ab", "c")
    assert stable_id("x", 1) == stable_id("x", 1)
    assert stable_hash64("hello") == stable_hash64("hello") and stable_hash64("hello") != stable_hash64("hellO")


@pytest.mark.parametrize(
    "text,script",
    [("Hello world", "Latn"), ("Привет мир", "Cyrl"), ("مرحبا بالعالم", "Arab"), ("नमस्ते दुनिया", "Deva"),
     ("你好世界", "Hani"), ("こんにちは世界", "Jpan"), ("안녕하세요", "Hang"), ("สวัสดีชาวโลก", "Thai"), ("123 !!", "Zyyy")],
)
def test_dominant_script(text, script):
    assert dominant_script(text) == script


def test_reconcile():
    assert reconcile({"docs.read": 10, "docs.kept": 7, "docs.dropped.a": 2, "docs.dropped.b": 1}) == []
    problems = reconcile({"docs.read": 10, "docs.kept": 7, "docs.dropped.a": 2})
    assert problems and "docs" in problems[0]


def _write(tmp_path, rows, name, target, batched=False):
    out = str(tmp_path / name)
    with beam.Pipeline(runner="FnApiRunner") as p:
        _ = (p | beam.Create(rows) | WriteShards(out, SMALL, lambda r: r["lang"], "rid", target_shard_bytes=target,
                                                  batched=batched))
    return out


def test_write_shards_batched_writes_the_same_files(tmp_path):
    rows = [{"rid": stable_id(i), "lang": "eng_Latn" if i % 3 else "deu_Latn", "x": i} for i in range(500)]
    a = _write(tmp_path, rows, "a", target=2000)
    batches = [rows[i:i + 37] for i in range(0, len(rows), 37)]  # batches mixing both partitions
    b = _write(tmp_path, batches, "b", target=2000, batched=True)
    ma = build_manifest(a, SMALL, "test", {}, "h", {}, "v")
    mb = build_manifest(b, SMALL, "test", {}, "h", {}, "v")
    assert len(ma.files) > 2 and ma.to_json() == mb.to_json()


def test_write_shards_names_a_missing_required_field(tmp_path):
    with pytest.raises(Exception, match="rid"):
        _write(tmp_path, [{"lang": "eng_Latn", "x": 1}], "c", target=2000)


def test_write_shards_deterministic_and_manifest(tmp_path):
    rows = [{"rid": stable_id(i), "lang": "eng_Latn" if i % 3 else "deu_Latn", "x": i} for i in range(500)]
    a = _write(tmp_path, rows, "a", target=2000)
    b = _write(tmp_path, list(reversed(rows)), "b", target=2000)
    counters = {"rows.read": 500, "rows.kept": 500}
    ma = build_manifest(a, SMALL, "test", counters, "h", {"in": "f"}, "v")
    mb = build_manifest(b, SMALL, "test", counters, "h", {"in": "f"}, "v")
    assert len(ma.files) > 2, "target size should split partitions into several shards"
    assert ma.to_json() == mb.to_json(), "input order must not change shard bytes"
    assert ma.rows == 500 and ma.partitions["deu_Latn"] == 167
    write_manifest(a, ma)
    validate(a)
    got = records(a)
    assert sorted(r["x"] for r in got) == list(range(500))
    # tampering with a shard is detected
    first = tmp_path / "a" / ma.files[0].path
    first.write_bytes(first.read_bytes() + b"x")
    with pytest.raises(ManifestError):
        validate(a)
    # a manifest whose counters do not reconcile is rejected
    m2 = build_manifest(b, SMALL, "test", {"rows.read": 5, "rows.kept": 4}, "h", {}, "v")
    write_manifest(b, m2)
    with pytest.raises(ManifestError, match="rows"):
        validate(b)
    assert json.loads(m2.to_json())["schema_name"] == "small"
