"""Final shards without a text shuffle: per-unit *pieces*, then a compaction that moves only small ones.

A worker that owns a unit of input (one chunk of an input file, in the mono stage) writes each of its
records straight into the piece of its partition: ``<work>/<kind>/<partition>/<unit>.parquet``, streamed one
row group at a time (`PieceWriter`). `CompactPieces` then names the final shards of every partition:
pieces in unit order are packed greedily into shards of about `target_bytes`; a piece that is a shard
on its own is moved (a rename), several small ones are read and written as one. Only the plan — one
small descriptor per piece — crosses a shuffle; text moves only when small pieces are merged.

Same pieces → same shards, byte for byte: the plan depends only on the descriptors (sorted by unit),
and a merged shard holds its pieces' rows in unit order.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import apache_beam as beam
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipelines.shards import approx_bytes, conform_all, filesystem, write_table
from pipelines.shuffle import CountedGroupByKey

ROW_GROUP_BYTES = 8 << 20  # a piece's row groups: bounded memory per open partition
ROW_GROUP_ROWS = 8192


@dataclass(frozen=True, order=True)
class Piece:
    """One piece file: `unit` orders pieces inside a partition (a zero-padded chunk name)."""

    kind: str  # which product it belongs to ("documents", "rejects")
    partition: str
    unit: str
    rows: int
    bytes: int  # uncompressed size estimate (text + fixed fields)

    def path(self, work_dir: str) -> str:  # derived, so descriptors do not depend on where OUT lies
        return posixpath.join(work_dir, self.kind, self.partition, f"{self.unit}.parquet")


class PieceWriter:
    """Streams records of one unit into one Parquet piece per partition.

    Rows are buffered per partition up to ROW_GROUP_BYTES / ROW_GROUP_ROWS, then written as a row
    group, so memory stays bounded whatever the unit's size. `close()` returns the pieces written.
    """

    def __init__(self, work_dir: str, kind: str, unit: str, schema: pa.Schema):
        self.work_dir, self.kind, self.unit, self.schema = work_dir, kind, unit, schema
        self._rows: dict[str, list[dict]] = {}
        self._buffered: dict[str, int] = {}
        self._writers: dict[str, tuple[object, pq.ParquetWriter]] = {}
        self._count: dict[str, int] = {}
        self._bytes: dict[str, int] = {}

    def add(self, partition: str, record: dict) -> None:
        rows = self._rows.setdefault(partition, [])
        rows.append(record)
        size = approx_bytes(record)
        self._buffered[partition] = self._buffered.get(partition, 0) + size
        self._bytes[partition] = self._bytes.get(partition, 0) + size
        self._count[partition] = self._count.get(partition, 0) + 1
        if len(rows) >= ROW_GROUP_ROWS or self._buffered[partition] >= ROW_GROUP_BYTES:
            self._flush(partition)

    def _flush(self, partition: str) -> None:
        rows = self._rows.pop(partition, [])
        self._buffered[partition] = 0
        if not rows:
            return
        if partition not in self._writers:
            piece = Piece(self.kind, partition, self.unit, 0, 0)
            fs, p = filesystem(piece.path(self.work_dir))
            fs.create_dir(posixpath.dirname(p), recursive=True)
            stream = fs.open_output_stream(p)
            self._writers[partition] = (stream, pq.ParquetWriter(stream, self.schema, compression="zstd"))
        # conform_all: a record missing a required field fails here, naming the field
        self._writers[partition][1].write_table(pa.Table.from_pylist(conform_all(rows, self.schema), schema=self.schema),
                                                row_group_size=ROW_GROUP_ROWS)

    def close(self) -> list[Piece]:
        pieces = []
        for partition in sorted(self._count):
            self._flush(partition)
            stream, writer = self._writers[partition]
            writer.close()
            stream.close()
            pieces.append(Piece(self.kind, partition, self.unit, self._count[partition], self._bytes[partition]))
        return pieces


def plan_shards(pieces: Iterable[Piece], target_bytes: int) -> list[list[Piece]]:
    """Pieces of one partition → the pieces of each final shard, in order. Pieces are taken in unit
    order and packed greedily: a shard is closed once it reaches `target_bytes`, and a piece that alone
    is at least half the target is a shard of its own (moved, not rewritten)."""
    shards: list[list[Piece]] = []
    current: list[Piece] = []
    size = 0
    for piece in sorted(pieces):
        if piece.bytes >= target_bytes // 2:
            if current:
                shards.append(current)
                current, size = [], 0
            shards.append([piece])
            continue
        current.append(piece)
        size += piece.bytes
        if size >= target_bytes:
            shards.append(current)
            current, size = [], 0
    if current:
        shards.append(current)
    return shards


def write_final_shard(partition: str, index: int, pieces: list[Piece], work_dir: str, final_dir: str,
                      schema: pa.Schema) -> dict:
    """Move a lone piece to its final name, or merge several small ones into it."""
    rel = f"{partition}/part-{index:05d}.parquet"
    dest = posixpath.join(final_dir, rel)
    fs, dest_path = filesystem(dest)
    fs.create_dir(posixpath.dirname(dest_path), recursive=True)
    if len(pieces) == 1:
        _, src = filesystem(pieces[0].path(work_dir))
        # A retried bundle finds the piece already moved: the shard is there, nothing to redo.
        missing = pafs.FileType.NotFound
        moved_already = fs.get_file_info(src).type == missing and fs.get_file_info(dest_path).type != missing
        if not moved_already:
            fs.move(src, dest_path)
    else:
        tables = []
        for piece in pieces:  # merged pieces stay in the work folder (removed with the staging area)
            _, src = filesystem(piece.path(work_dir))
            with fs.open_input_file(src) as f:
                tables.append(pq.read_table(f, schema=schema))
        write_table(pa.concat_tables(tables), dest, "parquet", "zstd")
    return {"path": rel, "partition": partition, "rows": sum(p.rows for p in pieces)}


class CompactPieces(beam.PTransform):
    """Pieces → final shards ``<final_dir>/<partition>/part-NNNNN.parquet``; outputs one dict per shard."""

    def __init__(self, work_dir: str, final_dir: str, schema: pa.Schema, target_bytes: int, stage: str, name: str,
                 label: str | None = None):
        super().__init__(label)
        self.work_dir, self.final_dir, self.schema = work_dir, final_dir, schema
        self.target = max(1, int(target_bytes))
        self.stage, self.name = stage, name

    def expand(self, pieces):
        target, work_dir, final_dir, schema = self.target, self.work_dir, self.final_dir, self.schema

        def plan(kv: tuple[str, Iterable[Piece]]) -> Iterator[tuple[str, int, list[Piece]]]:
            partition, ps = kv
            for index, group in enumerate(plan_shards(ps, target)):
                yield partition, index, group

        return (
            pieces
            | "ByPartition" >> beam.Map(lambda p: (p.partition, p))
            | "GroupPieces" >> CountedGroupByKey(self.stage, self.name)
            | "Plan" >> beam.FlatMap(plan)
            | "SpreadShards" >> beam.Reshuffle()
            | "WriteShard" >> beam.Map(lambda psp: write_final_shard(*psp, work_dir, final_dir, schema))
        )
