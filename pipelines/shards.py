"""WriteShards: deterministic Parquet / Arrow IPC shards, partitioned by language (or pair, reason).

Layout: ``<product_dir>/<partition>/part-NNNNN.<parquet|arrow>``. The number of shards of a
partition follows from its total size and the target shard size; a record's shard is a stable hash
of its id; rows inside a shard are sorted by id. Same records → same files, byte for byte, whatever
the runner, worker count or bundle order.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Callable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from pipelines.ids import stable_hash64
from schemas.base import conform

DEFAULT_TARGET_SHARD_BYTES = 128 * 1024 * 1024


def approx_bytes(record: dict) -> int:
    """Cheap size estimate of a record, used only to decide shard counts."""
    n = 0
    for v in record.values():
        if isinstance(v, (str, bytes)):
            n += len(v)
        elif isinstance(v, (list, tuple)):
            n += 8 * len(v)
        else:
            n += 8
    return n


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """pyarrow filesystem + path for a local path or any URI pyarrow understands (gs://, s3://)."""
    if "://" in uri:
        return pafs.FileSystem.from_uri(uri)
    return pafs.LocalFileSystem(), uri


def write_table(table: pa.Table, uri: str, fmt: str, compression: str | None) -> int:
    fs, path = filesystem(uri)
    fs.create_dir(posixpath.dirname(path), recursive=True)
    if fmt == "parquet":
        with fs.open_output_stream(path) as f:
            pq.write_table(table, f, compression=compression or "zstd", row_group_size=8192, write_statistics=True)
    elif fmt == "arrow":
        options = ipc.IpcWriteOptions(compression=compression) if compression else None
        with fs.open_output_stream(path) as f, ipc.new_file(f, table.schema, options=options) as w:
            # One record batch per 8192 rows so readers can stream, and mmap stays zero-copy.
            for batch in table.to_batches(max_chunksize=8192):
                w.write_batch(batch)
    else:
        raise ValueError(f"unknown shard format {fmt!r} (parquet or arrow)")
    return table.num_rows


def conform_all(records: list[dict], schema: pa.Schema) -> list[dict]:
    """schemas.base.conform of many records: the schema's fields are read once, not once per record
    (iterating a pyarrow schema builds a Field object per field and costs ~2 µs each)."""
    names = schema.names
    required = [f.name for f in schema if not f.nullable]
    out = []
    for r in records:
        if not all(n in r for n in required):
            conform(r, schema)  # raises the KeyError naming the missing field
        out.append({n: r.get(n) for n in names})
    return out


def write_shard(
    key: tuple[str, int], records: list[dict], product_dir: str, schema: pa.Schema, id_field: str, fmt: str,
    compression: str | None,
) -> dict:
    partition, index = key
    rows = sorted(conform_all(records, schema), key=lambda r: r[id_field])
    table = pa.Table.from_pylist(rows, schema=schema)
    ext = "parquet" if fmt == "parquet" else "arrow"
    rel = f"{partition}/part-{index:05d}.{ext}"
    write_table(table, posixpath.join(product_dir, rel), fmt, compression)
    return {"path": rel, "partition": partition, "rows": len(rows)}


class WriteShards(beam.PTransform):
    """Write dict records as sharded Parquet/Arrow files; outputs one small dict per file written.

    partition_fn: record → partition name (language code, pair "deu_Latn-eng_Latn", reject reason).
    id_field: the record's stable id; it decides shard assignment and row order.
    batched: the input elements are *lists* of records (e.g. the mono stage's batches). They travel
    as one element per (batch, shard) instead of one per record, which saves the runner's
    per-element cost; the files written are the same as for the records one by one.
    stage: the stage whose counters record this writer's shuffle (``shuffle.<shuffle_name>.bytes``,
    by default ``write_<product folder name>``):
    records cross one GroupByKey (by shard) to be sorted into their files. The mono stage, whose
    records are documents, writes its shards without it (pipelines.pieces).
    """

    def __init__(
        self,
        product_dir: str,
        schema: pa.Schema,
        partition_fn: Callable[[dict], str],
        id_field: str,
        target_shard_bytes: int = DEFAULT_TARGET_SHARD_BYTES,
        fmt: str = "parquet",
        compression: str | None = None,
        label: str | None = None,
        batched: bool = False,
        stage: str | None = None,
        shuffle_name: str | None = None,
    ):
        super().__init__(label)
        self.batched = batched
        self.stage = stage
        self.shuffle_name = shuffle_name or "write_" + posixpath.basename(product_dir.rstrip("/"))
        self.product_dir = product_dir
        self.schema = schema
        self.partition_fn = partition_fn
        self.id_field = id_field
        self.target = max(1, int(target_shard_bytes))
        self.fmt = fmt
        self.compression = compression

    def expand(self, records):
        # One code path: single records travel as one-record batches (same files, see tests/test_core.py).
        batches = records if self.batched else records | "AsBatches" >> beam.Map(lambda r: [r])
        return self._expand_batched(batches)

    def _group(self):
        if self.stage is None:
            return beam.GroupByKey()
        from pipelines.shuffle import CountedGroupByKey

        return CountedGroupByKey(self.stage, self.shuffle_name)

    def _expand_batched(self, batches):
        partition_fn, id_field, target = self.partition_fn, self.id_field, self.target
        keyed = batches | "KeyByPartition" >> beam.FlatMap(split_by_partition, partition_fn)
        shard_counts = (
            keyed
            | "Size" >> beam.Map(lambda kv: (kv[0], sum(approx_bytes(r) for r in kv[1])))
            | "SumSize" >> beam.CombinePerKey(sum)
            | "ShardCount" >> beam.Map(lambda kv: (kv[0], max(1, math.ceil(kv[1] / target))))
        )

        def assign(kv: tuple[str, list[dict]], counts: dict[str, int]):
            part, recs = kv
            by_shard: dict[int, list[dict]] = {}
            for rec in recs:
                by_shard.setdefault(stable_hash64(rec[id_field]) % counts[part], []).append(rec)
            for index, shard_recs in sorted(by_shard.items()):
                yield (part, index), shard_recs

        return (
            keyed
            | "AssignShard" >> beam.FlatMap(assign, counts=beam.pvalue.AsDict(shard_counts))
            | "GroupShard" >> self._group()
            | "Write"
            >> beam.MapTuple(
                lambda key, parts: write_shard(
                    key, [r for recs in parts for r in recs], self.product_dir, self.schema, id_field, self.fmt,
                    self.compression,
                )
            )
        )


def split_by_partition(batch: list[dict], partition_fn: Callable[[dict], str]) -> list[tuple[str, list[dict]]]:
    """(partition, records) for each partition a batch of records touches, in partition order."""
    parts: dict[str, list[dict]] = {}
    for rec in batch:
        parts.setdefault(partition_fn(rec), []).append(rec)
    return sorted(parts.items(), key=lambda kv: kv[0])


def iter_shard_batches(path: str, columns: list[str] | None = None,
                       batch_rows: int = 4096) -> Iterator[pa.RecordBatch]:
    """Record batches of one shard (Parquet or Arrow IPC), streamed; only `columns` when given."""
    fs, p = filesystem(path)
    with fs.open_input_file(p) as f:
        if p.endswith(".parquet"):
            yield from pq.ParquetFile(f).iter_batches(batch_size=batch_rows, columns=columns)
        else:
            reader = ipc.open_file(f)
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)
                yield batch.select(columns) if columns is not None else batch


def read_shards(product_dir: str) -> pa.Table:
    """Read every shard of a product directory into one table (tests, reports, small products)."""
    from schemas.manifest import list_shards

    fs, root = filesystem(product_dir)
    tables = []
    for rel in list_shards(product_dir):
        path = posixpath.join(root, rel)
        if rel.endswith(".parquet"):
            with fs.open_input_file(path) as f:
                tables.append(pq.read_table(f))
        else:
            with fs.open_input_file(path) as f:
                tables.append(ipc.open_file(f).read_all())
    if not tables:
        return pa.table({})
    return pa.concat_tables(tables)


def records(product_dir: str) -> list[dict[str, Any]]:
    return read_shards(product_dir).to_pylist()
