"""The encode pipeline: product shards → batched SentencePiece → TOKENS Arrow shards per objective.

One element per input shard file (so reading scales with the number of files), a ParDo that
reads its rows in batches of columns, a DoFn that loads the model once per worker (setup) and
encodes a batch in one SentencePiece call (two for code-switched samples) and emits one Arrow
chunk per partition, then WriteTokenShards per objective (WriteShards' deterministic layout,
moved as Arrow chunks). Per-token work stays in numpy/Arrow: ids are never Python ints.
Dropped records are counted (`<unit>.dropped.<reason>`) and written to rejects.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import apache_beam as beam
import numpy as np

from pipelines.counters import REJECTS_TAG, inc, make_reject
from pipelines.encode import examples as ex
from pipelines.encode.write import ExampleColumns, WriteTokenShards
from pipelines.progress import mark_done
from pipelines.shards import DEFAULT_TARGET_SHARD_BYTES, WriteShards, iter_shard_batches
from schemas.documents import REJECTS
from schemas.tokens import OBJECTIVES, parent_hash

STAGE = "encode"
STEP = "EncodeTokens"
UNITS = {"mlm": "docs", "tlm": "pairs", "cs": "cs_samples", "entity": "entity_samples"}
COLUMNS = {
    "mlm": ["doc_id", "lang", "text"],
    "tlm": ["pair_id", "src_lang", "tgt_lang", "src_text", "tgt_text"],
    "cs": ["cs_id", "parent_id", "matrix_lang", "text", "spans"],
    "entity": ["cs_id", "parent_id", "matrix_lang", "text", "spans"],
}
ID_FIELD = {"mlm": "doc_id", "tlm": "pair_id", "cs": "cs_id", "entity": "cs_id"}


@dataclass(frozen=True)
class EncodeSettings:
    max_tokens: int = 254  # longest mlm block / cs / entity example, without <s> </s>
    tlm_max_tokens_per_side: int = 100
    languages: frozenset[str] | None = None  # None: every language
    spm_threads: int = 1


Batch = tuple[str, str, dict[str, list]]  # (objective, source shard name, columns of up to batch_size rows)


def read_shard(item: tuple[str, str, str], batch_size: int) -> Iterator[Batch]:
    """(objective, shard path, name for rejects) → batches of up to batch_size rows, as columns.

    Rows leave the reader already batched: one Beam element per SentencePiece batch instead of
    one per record, and as column lists (Arrow's to_pydict) rather than a dict per row."""
    objective, path, name = item
    for rb in iter_shard_batches(path, COLUMNS[objective]):
        for at in range(0, rb.num_rows, batch_size):
            yield objective, name, rb.slice(at, batch_size).to_pydict()


def read_shard_marked(item: tuple[str, str, str], batch_size: int, progress_dir: str = "") -> Iterator[Batch]:
    """read_shard, then mark the shard done with its row count (live progress, pipelines/progress.py)."""
    rows = 0
    for batch in read_shard(item, batch_size):
        rows += len(next(iter(batch[2].values()), []))
        yield batch
    mark_done(progress_dir, item[1], rows)


def source_name(path: str, root: str | None) -> str:
    """A shard's path relative to the output root, so rejects do not depend on where OUT lives."""
    if root and path.startswith(root.rstrip("/") + "/"):
        return path[len(root.rstrip("/")) + 1:]
    return path


def record_langs(objective: str, row: dict) -> list[str]:
    if objective == "mlm":
        return [row["lang"]]
    if objective == "tlm":
        return [row["src_lang"], row["tgt_lang"]]
    return [row["matrix_lang"]]


def plan(objective: str, row: dict, s: EncodeSettings) -> list[ex.Piece] | ex.Dropped:
    if s.languages is not None and not set(record_langs(objective, row)) <= s.languages:
        return ex.Dropped("lang_not_in_set")
    if objective == "tlm":
        return ex.plan_pair(row)
    return ex.plan_sample(row)


def finish(objective: str, row: dict, ids, s: EncodeSettings) -> dict | ex.Dropped:
    if objective == "tlm":
        return ex.finish_pair(row, ids, s.tlm_max_tokens_per_side)
    return ex.finish_spans(row["cs_id"], row["parent_id"], objective, ex.sample_lang(row, objective), ids,
                           s.max_tokens)


@dataclass
class Encoded:
    """What one batch became: examples per partition, and the rows dropped (index in the batch, why)."""
    examples: dict[str, ExampleColumns] = field(default_factory=dict)
    dropped: list[tuple[int, ex.Dropped]] = field(default_factory=list)


def encode_documents(cols: dict[str, list], enc: ex.Encoder, s: EncodeSettings) -> Encoded:
    """mlm: a batch of documents, column-wise: all their lines in one SentencePiece call, blocks
    as ranges of the flat result (no per-token Python work), one example list per language."""
    out = Encoded()
    doc_ids, langs, texts = cols["doc_id"], cols["lang"], cols["text"]
    wanted = list(range(len(doc_ids)))
    if s.languages is not None:
        out.dropped += [(i, ex.Dropped("lang_not_in_set")) for i in wanted if langs[i] not in s.languages]
        wanted = [i for i in wanted if langs[i] in s.languages]
    lines = [ex.document_lines(texts[i]) for i in wanted]
    doc_lines = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, lines), dtype=np.int64, count=len(lines)), out=doc_lines[1:])
    flat, line_offsets = enc.encode_flat([line for doc in lines for line in doc])
    blocks = ex.document_blocks(flat, line_offsets, doc_lines, enc.tables, s.max_tokens)
    has_block = np.zeros(len(wanted), dtype=bool)
    has_block[blocks.doc] = True
    out.dropped += [(wanted[d], ex.Dropped("empty")) for d in np.flatnonzero(~has_block).tolist()]
    rows = [wanted[d] for d in blocks.doc.tolist()]
    example_ids = [f"{doc_ids[i]}-{k:05d}" for i, k in zip(rows, blocks.index.tolist(), strict=True)]
    block_langs = [langs[i] for i in rows]
    lengths = blocks.end - blocks.start
    # The blocks tile flat in order (a document without tokens adds none), so a one-language batch
    # (the usual case: one input shard per language) takes flat as it is.
    partitions = sorted(set(block_langs))  # an mlm example's partition is its language
    parents = [doc_ids[i] for i in rows]  # every block of a document has the document as parent
    doc_hash = np.array([parent_hash(doc_ids[i]) for i in wanted], dtype=np.uint64)  # once per document
    hashes = doc_hash[blocks.doc] if len(blocks.doc) else np.empty(0, dtype=np.uint64)
    for lang in partitions:
        part_ids, part_parents, part_hashes, values, part_lengths = example_ids, parents, hashes, flat, lengths
        if len(partitions) > 1:
            mine = np.array([x == lang for x in block_langs], dtype=bool)
            part_ids = [x for x, m in zip(example_ids, mine.tolist(), strict=True) if m]
            part_parents = [x for x, m in zip(parents, mine.tolist(), strict=True) if m]
            part_hashes = hashes[mine]
            values, part_lengths = flat[np.repeat(mine, lengths)], lengths[mine]
        out.examples[lang] = ExampleColumns()
        out.examples[lang].extend_plain("mlm", part_ids, part_parents, part_hashes, [lang] * len(part_ids), values,
                                        part_lengths)
    return out


def encode_records(objective: str, cols: dict[str, list], enc: ex.Encoder, s: EncodeSettings) -> Encoded:
    """tlm / cs / entity: a batch of records, one at a time around two SentencePiece calls."""
    out = Encoded()
    rows = [dict(zip(cols, values, strict=True)) for values in zip(*cols.values(), strict=True)]
    plans = [plan(objective, row, s) for row in rows]
    ids = enc.encode([p for pl in plans if not isinstance(pl, ex.Dropped) for p in pl])
    at = 0
    for i, (row, pl) in enumerate(zip(rows, plans, strict=True)):
        res = pl
        if not isinstance(pl, ex.Dropped):
            res = finish(objective, row, ids[at:at + len(pl)], s)
            at += len(pl)
        if isinstance(res, ex.Dropped):
            out.dropped.append((i, res))
        else:
            out.examples.setdefault(partition_of(res), ExampleColumns()).add(res)
    return out


def encode_batch(objective: str, cols: dict[str, list], enc: ex.Encoder, s: EncodeSettings) -> Encoded:
    if objective == "mlm":
        return encode_documents(cols, enc, s)
    return encode_records(objective, cols, enc, s)


class EncodeFn(beam.DoFn):
    """Thin wrapper around encode_batch. The model is read once per worker in setup() from its path
    (not shipped inside the pipeline: a 250k vocabulary is megabytes) and checked against its hash."""

    def __init__(self, model_path: str, model_sha256: str, settings: EncodeSettings):
        self.model_path = model_path
        self.model_sha256 = model_sha256
        self.settings = settings
        self.enc: ex.Encoder | None = None

    def setup(self):
        import hashlib

        from pipelines.remote_files import read_bytes

        model = read_bytes(self.model_path)  # local, or any Beam filesystem (gs://, s3://)
        if hashlib.sha256(model).hexdigest() != self.model_sha256:
            raise RuntimeError(f"{self.model_path} changed while the encode stage was running")
        self.enc = ex.Encoder(model, self.settings.spm_threads)

    def process(self, batch: Batch):
        objective, source, cols = batch
        res = encode_batch(objective, cols, self.enc, self.settings)
        unit, n_rows = UNITS[objective], len(cols[ID_FIELD[objective]])
        counts = Counter({f"{unit}.read": n_rows, f"{unit}.kept": n_rows - len(res.dropped)})
        for i, why in res.dropped:
            counts[f"{unit}.dropped.{why.reason}"] += 1
            row = {k: v[i] for k, v in cols.items()}
            yield beam.pvalue.TaggedOutput(REJECTS_TAG, make_reject(
                STAGE, STEP, why.reason, source=source, record_id=row.get(ID_FIELD[objective]),
                detail=why.detail or None, sample=row.get("text") or row.get("src_text")))
        for part, examples in sorted(res.examples.items()):  # one Arrow chunk per partition and batch
            counts[f"{objective}.examples"] += len(examples)
            counts[f"{objective}.tokens"] += int(examples.n_tokens().sum(dtype=np.int64))
            # per stream too: sampling.json takes its totals from these counters, not from the shards
            counts[f"{objective}[{part}].examples"] += len(examples)
            counts[f"{objective}[{part}].tokens"] += int(examples.n_tokens().sum(dtype=np.int64))
            yield beam.pvalue.TaggedOutput(objective, (part, examples.chunk()))
        for name, n in (+counts).items():  # one update per name and batch, not per record; no zeros
            inc(STAGE, name, n)


def partition_of(example: dict) -> str:
    """Shard directory of an example: language, or 'src-tgt' for TLM pairs."""
    return f"{example['lang']}-{example['lang2']}" if example["objective"] == "tlm" else example["lang"]


def build_encode(
    pipeline, inputs: dict[str, list[str]], model_path: str, model_sha256: str, out_root: str, rejects_dir: str,
    settings: EncodeSettings, target_shard_bytes: int = DEFAULT_TARGET_SHARD_BYTES,
    compression: str | None = None, batch_size: int = 256, source_root: str | None = None, progress_dir: str = "",
) -> None:
    """inputs: objective → shard paths. Writes out_root/<objective>/<partition>/part-*.arrow."""
    items = sorted((obj, path, source_name(path, source_root)) for obj, paths in inputs.items() for path in paths)
    # An empty Create still runs the writers; they then write nothing and the product dir stays empty.
    results = (
        pipeline
        | "Shards" >> beam.Create(items)  # reshuffles by itself when there is more than one shard
        | "ReadRows" >> beam.FlatMap(read_shard_marked, batch_size=batch_size, progress_dir=progress_dir)
        | "Encode" >> beam.ParDo(EncodeFn(model_path, model_sha256, settings)).with_outputs(REJECTS_TAG, *OBJECTIVES)
    )
    for obj in OBJECTIVES:
        if not inputs.get(obj):
            continue  # nothing can reach this writer; the stage creates the empty product dir
        _ = results[obj] | f"Write_{obj}" >> WriteTokenShards(
            posixpath.join(out_root, obj), target_shard_bytes=target_shard_bytes, compression=compression,
            stage=STAGE, shuffle_name=f"tokens_{obj}")
    _ = results[REJECTS_TAG] | "WriteRejects" >> WriteShards(
        rejects_dir, REJECTS, lambda r: r["reason"], "reject_id", target_shard_bytes=target_shard_bytes,
        fmt="parquet", stage=STAGE, shuffle_name="write_rejects")
