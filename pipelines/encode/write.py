"""WriteTokenShards: WriteShards' layout and determinism, moved through Beam as Arrow chunks.

Token examples are many and small, so per-record Beam elements (a dict + a list of ints through
the shuffle coder) cost more than SentencePiece itself. Here each element is one Arrow IPC chunk
of up to a batch of examples of one partition. The rules are exactly those of
pipelines.shards.WriteShards — shard count = ceil(Σ approx_bytes / target) per partition, shard of
a row = stable_hash64(example_id) % count, rows sorted by id, one file per (partition, shard) —
so the files are byte-identical to what WriteShards writes for the same examples (tested).
"""

from __future__ import annotations

import math
import posixpath

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from pipelines.ids import stable_hash64
from pipelines.shards import DEFAULT_TARGET_SHARD_BYTES, write_table
from schemas.tokens import TOKENS

Chunk = tuple[bytes, int]  # (Arrow IPC stream of TOKENS rows, Σ approx_bytes of those rows)


def approx_bytes(e: dict) -> int:
    """pipelines.shards.approx_bytes of a TOKENS record, without building the dict's values twice."""
    n = len(e["example_id"]) + len(e["objective"]) + len(e["lang"])
    n += len(e["lang2"]) if e["lang2"] is not None else 8
    n += 8 * len(e["input_ids"]) + 8 + 8  # input_ids, segment_start, n_tokens
    n += 8 * len(e["entity_spans"]) if e["entity_spans"] is not None else 8
    return n


def examples_table(examples: list[dict]) -> pa.Table:
    """TOKENS table of examples whose input_ids are int32 numpy arrays (one flat copy, no int lists)."""
    ids = [e["input_ids"] for e in examples]
    offsets = np.zeros(len(ids) + 1, dtype=np.int32)
    np.cumsum([len(x) for x in ids], out=offsets[1:])
    values = np.concatenate(ids).astype(np.int32, copy=False) if ids else np.empty(0, np.int32)
    cols = {f.name: pa.array([e[f.name] for e in examples], type=f.type) for f in TOKENS if f.name != "input_ids"}
    cols["input_ids"] = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))
    return pa.Table.from_arrays([cols[f.name] for f in TOKENS], schema=TOKENS)


def to_chunk(examples: list[dict]) -> Chunk:
    table = examples_table(examples)
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes(), sum(approx_bytes(e) for e in examples)


def from_chunk(data: bytes) -> pa.Table:
    return ipc.open_stream(pa.py_buffer(data)).read_all()


def split_chunk(item: tuple[str, Chunk], counts: dict[str, int]):
    """(partition, chunk) → ((partition, shard), sub-chunk) per shard its rows hash to."""
    part, (data, _) = item
    table = from_chunk(data)
    n = counts[part]
    shard = np.array([stable_hash64(x) % n for x in table.column("example_id").to_pylist()], dtype=np.int64)
    for s in np.unique(shard):
        sub = table.take(pa.array(np.flatnonzero(shard == s)))
        sink = pa.BufferOutputStream()
        with ipc.new_stream(sink, sub.schema) as w:
            w.write_table(sub)
        yield (part, int(s)), sink.getvalue().to_pybytes()


def write_chunks(key: tuple[str, int], chunks, product_dir: str, compression: str | None) -> dict:
    part, index = key
    table = pa.concat_tables([from_chunk(c) for c in chunks])
    table = table.take(pc.sort_indices(table, sort_keys=[("example_id", "ascending")])).combine_chunks()
    rel = f"{part}/part-{index:05d}.arrow"
    write_table(table, posixpath.join(product_dir, rel), "arrow", compression)
    return {"path": rel, "partition": part, "rows": table.num_rows}


class WriteTokenShards(beam.PTransform):
    """(partition, Chunk) elements → product_dir/<partition>/part-NNNNN.arrow (see module doc)."""

    def __init__(self, product_dir: str, target_shard_bytes: int = DEFAULT_TARGET_SHARD_BYTES,
                 compression: str | None = None):
        super().__init__()
        self.product_dir = product_dir
        self.target = max(1, int(target_shard_bytes))
        self.compression = compression

    def expand(self, chunks):
        target, product_dir, compression = self.target, self.product_dir, self.compression
        counts = (
            chunks
            | "Size" >> beam.Map(lambda kv: (kv[0], kv[1][1]))
            | "SumSize" >> beam.CombinePerKey(sum)
            | "ShardCount" >> beam.Map(lambda kv: (kv[0], max(1, math.ceil(kv[1] / target))))
        )
        return (
            chunks
            | "SplitByShard" >> beam.FlatMap(split_chunk, counts=beam.pvalue.AsDict(counts))
            | "GroupShard" >> beam.GroupByKey()
            | "Write" >> beam.MapTuple(lambda key, cs: write_chunks(key, list(cs), product_dir, compression))
        )
