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
from dataclasses import dataclass, field

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from pipelines.ids import stable_hash64
from pipelines.shards import DEFAULT_TARGET_SHARD_BYTES, write_table
from pipelines.shuffle import CountedGroupByKey
from schemas.tokens import TOKENS

Chunk = tuple[bytes, int]  # (Arrow IPC stream of TOKENS rows, Σ approx_bytes of those rows)


@dataclass
class ExampleColumns:
    """TOKENS examples, column by column (no dict per example). input_ids are kept as pieces of
    one flat int32 array plus each example's length, so a batch's blocks never become one small
    array (or list of ints) each."""

    example_id: list[str] = field(default_factory=list)
    parent_id: list[str] = field(default_factory=list)
    parent_hash: list[np.ndarray] = field(default_factory=list)  # uint64 pieces, in order
    objective: list[str] = field(default_factory=list)
    lang: list[str] = field(default_factory=list)
    lang2: list[str | None] = field(default_factory=list)
    segment_start: list[int] = field(default_factory=list)
    entity_spans: list[list[dict] | None] = field(default_factory=list)
    id_values: list[np.ndarray] = field(default_factory=list)  # all input_ids, concatenated in order
    id_lengths: list[np.ndarray] = field(default_factory=list)  # n_tokens of each example, in order

    def add(self, e: dict) -> None:
        """Append one example dict (pipelines.encode.examples.example)."""
        for name in ("example_id", "parent_id", "objective", "lang", "lang2", "segment_start", "entity_spans"):
            getattr(self, name).append(e[name])
        self.parent_hash.append(np.array([e["parent_hash"]], dtype=np.uint64))
        self.id_values.append(np.asarray(e["input_ids"], dtype=np.int32))
        self.id_lengths.append(np.array([len(e["input_ids"])], dtype=np.int32))

    def extend_plain(self, objective: str, example_ids: list[str], parent_ids: list[str], parent_hashes: np.ndarray,
                     langs: list[str], values: np.ndarray, lengths: np.ndarray) -> None:
        """Append examples with no lang2, segment or spans (mlm blocks): their ids are `values`
        cut into `lengths`."""
        n = len(example_ids)
        self.example_id += example_ids
        self.parent_id += parent_ids
        self.parent_hash.append(parent_hashes.astype(np.uint64, copy=False))
        self.objective += [objective] * n
        self.lang += langs
        self.lang2 += [None] * n
        self.segment_start += [-1] * n
        self.entity_spans += [None] * n
        self.id_values.append(values)
        self.id_lengths.append(lengths.astype(np.int32, copy=False))

    def __len__(self) -> int:
        return len(self.example_id)

    def n_tokens(self) -> np.ndarray:
        return np.concatenate(self.id_lengths) if self.id_lengths else np.empty(0, dtype=np.int32)

    def approx_bytes(self) -> int:
        """Σ pipelines.shards.approx_bytes(example) (what WriteShards sizes shards by), summed column
        by column: strings count their length, lists 8 per item, anything else (None too) 8."""
        return (sum(map(len, self.example_id)) + sum(map(len, self.parent_id)) + 8 * len(self)  # + parent_hash
                + sum(map(len, self.objective)) + sum(map(len, self.lang))
                + sum(len(x) if x is not None else 8 for x in self.lang2)
                + 8 * int(self.n_tokens().sum(dtype=np.int64)) + 16 * len(self)  # + segment_start, n_tokens
                + sum(8 * len(x) if x is not None else 8 for x in self.entity_spans))

    def table(self) -> pa.Table:
        """The TOKENS table of these examples: ids copied once into one flat Arrow buffer."""
        lengths = self.n_tokens()
        offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        values = np.concatenate(self.id_values).astype(np.int32, copy=False) if self.id_values else np.empty(0, np.int32)
        if len(lengths) != len(self) or offsets[-1] != len(values):
            raise ValueError(f"{len(self)} examples, {len(lengths)} lengths summing to {offsets[-1]}, {len(values)} ids")
        types = {f.name: f.type for f in TOKENS}
        cols = {
            "example_id": pa.array(self.example_id, types["example_id"]),
            "parent_id": pa.array(self.parent_id, types["parent_id"]),
            "parent_hash": pa.array(np.concatenate(self.parent_hash) if self.parent_hash else np.empty(0, np.uint64),
                                    types["parent_hash"]),
            "objective": pa.array(self.objective, types["objective"]),
            "lang": pa.array(self.lang, types["lang"]),
            "lang2": pa.array(self.lang2, types["lang2"]),
            "input_ids": pa.ListArray.from_arrays(pa.array(offsets), pa.array(values)),
            "segment_start": pa.array(self.segment_start, types["segment_start"]),
            "entity_spans": pa.array(self.entity_spans, types["entity_spans"]),
            "n_tokens": pa.array(lengths, types["n_tokens"]),
        }
        return pa.Table.from_arrays([cols[f.name] for f in TOKENS], schema=TOKENS)

    def chunk(self) -> Chunk:
        return to_ipc(self.table()), self.approx_bytes()


def to_chunk(examples: list[dict]) -> Chunk:
    """One Chunk of example dicts."""
    cols = ExampleColumns()
    for e in examples:
        cols.add(e)
    return cols.chunk()


def to_ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def from_chunk(data: bytes) -> pa.Table:
    return ipc.open_stream(pa.py_buffer(data)).read_all()


def split_chunk(item: tuple[str, Chunk], counts: dict[str, int]):
    """(partition, chunk) → ((partition, shard), sub-chunk) per shard its rows hash to."""
    part, (data, _) = item
    n = counts[part]
    if n == 1:  # the whole partition is one shard: pass the chunk on as it is
        yield (part, 0), data
        return
    table = from_chunk(data)
    shard = np.array([stable_hash64(x) % n for x in table.column("example_id").to_pylist()], dtype=np.int64)
    for s in np.unique(shard):
        yield (part, int(s)), to_ipc(table.take(pa.array(np.flatnonzero(shard == s))))


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
                 compression: str | None = None, stage: str = "encode", shuffle_name: str = "tokens"):
        super().__init__()
        self.stage, self.shuffle_name = stage, shuffle_name  # counters shuffle.<shuffle_name>.bytes/elements
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
            | "GroupShard" >> CountedGroupByKey(self.stage, self.shuffle_name)
            | "Write" >> beam.MapTuple(lambda key, cs: write_chunks(key, list(cs), product_dir, compression))
        )
