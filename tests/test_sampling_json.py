"""sampling.json totals come from the token products' manifests and counters, never from the shards."""

from __future__ import annotations

import pytest

from pipelines.encode.sampling import partition_counter, partition_totals
from schemas.manifest import Manifest, ManifestError, ShardFile


def _manifest(files: dict[str, int], counters: dict[str, int]) -> Manifest:
    shard_files = [ShardFile(path=p, partition=p.split("/")[0], rows=n, bytes=1, sha256="0") for p, n in files.items()]
    partitions: dict[str, int] = {}
    for f in shard_files:
        partitions[f.partition] = partitions.get(f.partition, 0) + f.rows
    return Manifest("tokens", 2, "encode", shard_files, sum(files.values()), partitions, counters, "h", {}, "v")


def test_totals_from_manifest_and_counters_without_reading_a_shard(tmp_path):
    files = {"deu_Latn/part-00000.arrow": 3, "eng_Latn/part-00000.arrow": 5, "eng_Latn/part-00001.arrow": 2}
    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"not an arrow file")  # reading one would fail
    counters = {partition_counter("mlm", "deu_Latn", "examples"): 3, partition_counter("mlm", "deu_Latn", "tokens"): 40,
                partition_counter("mlm", "eng_Latn", "examples"): 7, partition_counter("mlm", "eng_Latn", "tokens"): 90}
    totals = partition_totals(str(tmp_path), _manifest(files, counters), "mlm")
    assert totals == {
        "deu_Latn": {"examples": 3, "tokens": 40, "files": ["deu_Latn/part-00000.arrow"]},
        "eng_Latn": {"examples": 7, "tokens": 90, "files": ["eng_Latn/part-00000.arrow", "eng_Latn/part-00001.arrow"]},
    }
    # a shard added by hand, or a manifest whose counters do not match its rows, is refused
    (tmp_path / "eng_Latn" / "part-00002.arrow").write_bytes(b"x")
    with pytest.raises(ManifestError, match="do not match manifest.json"):
        partition_totals(str(tmp_path), _manifest(files, counters), "mlm")
    (tmp_path / "eng_Latn" / "part-00002.arrow").unlink()
    with pytest.raises(ManifestError, match="mlm\\[eng_Latn\\].examples"):
        partition_totals(str(tmp_path), _manifest(files, {**counters, "mlm[eng_Latn].examples": 6}), "mlm")
