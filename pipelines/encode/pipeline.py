"""The encode pipeline: product shards → batched SentencePiece → TOKENS Arrow shards per objective.

One element per input shard file (so reading scales with the number of files), a ParDo that
reads its rows in batches, a DoFn that loads the model once per worker (setup) and encodes a
batch's texts in two SentencePiece calls and emits one Arrow chunk per partition, then
WriteTokenShards per objective (WriteShards' deterministic layout, moved as Arrow chunks).
Dropped records are counted (`<unit>.dropped.<reason>`) and written to rejects.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from dataclasses import dataclass

import apache_beam as beam

from pipelines.counters import REJECTS_TAG, inc, make_reject
from pipelines.encode import examples as ex
from pipelines.encode.write import WriteTokenShards, to_chunk
from pipelines.shards import DEFAULT_TARGET_SHARD_BYTES, WriteShards, filesystem
from pipelines.tokenizer.sources import iter_rows
from schemas.documents import REJECTS
from schemas.tokens import OBJECTIVES

STAGE = "encode"
STEP = "EncodeTokens"
UNITS = {"mlm": "docs", "tlm": "pairs", "cs": "cs_samples", "entity": "entity_samples"}
COLUMNS = {
    "mlm": ["doc_id", "lang", "text"],
    "tlm": ["pair_id", "src_lang", "tgt_lang", "src_text", "tgt_text"],
    "cs": ["cs_id", "matrix_lang", "text", "spans"],
    "entity": ["cs_id", "matrix_lang", "text", "spans"],
}
ID_FIELD = {"mlm": "doc_id", "tlm": "pair_id", "cs": "cs_id", "entity": "cs_id"}


@dataclass(frozen=True)
class EncodeSettings:
    max_tokens: int = 254
    tlm_max_tokens_per_side: int = 100
    languages: frozenset[str] | None = None  # None: every language
    spm_threads: int = 1


def read_shard(item: tuple[str, str, str], batch_size: int):
    """(objective, shard path, name for rejects) → lists of up to batch_size (objective, row).

    Rows leave the reader already batched: one Beam element per SentencePiece batch instead of
    one per record (the same batching BatchElements would do, without its per-row elements)."""
    objective, path, name = item
    batch: list[tuple[str, dict]] = []
    for row in iter_rows(path, COLUMNS[objective]):
        row["_source"] = name  # only for rejects: where a dropped record came from
        batch.append((objective, row))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


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
    if objective == "mlm":
        return ex.plan_document(row)
    if objective == "tlm":
        return ex.plan_pair(row)
    return ex.plan_sample(row)


def finish(objective: str, row: dict, ids, enc: ex.Encoder, s: EncodeSettings) -> list[dict] | ex.Dropped:
    if objective == "mlm":
        return ex.finish_document(row, ids, enc.tables, s.max_tokens)
    if objective == "tlm":
        out = ex.finish_pair(row, ids, s.tlm_max_tokens_per_side)
    else:
        out = ex.finish_spans(row["cs_id"], objective, ex.sample_lang(row, objective), ids)
    return out if isinstance(out, ex.Dropped) else [out]


def encode_batch(batch: list[tuple[str, dict]], enc: ex.Encoder, s: EncodeSettings):
    """Encode a batch of (objective, row): yields ("ok", objective, examples) or ("drop", objective, row, Dropped)."""
    plans = [plan(obj, row, s) for obj, row in batch]
    pieces = [p for pl in plans if not isinstance(pl, ex.Dropped) for p in pl]
    ids = enc.encode(pieces)
    at = 0
    for (obj, row), pl in zip(batch, plans, strict=True):
        if isinstance(pl, ex.Dropped):
            yield "drop", obj, row, pl
            continue
        out = finish(obj, row, ids[at:at + len(pl)], enc, s)
        at += len(pl)
        if isinstance(out, ex.Dropped):
            yield "drop", obj, row, out
        else:
            yield "ok", obj, out


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

        fs, p = filesystem(self.model_path)
        with fs.open_input_stream(p) as f:
            model = f.read()
        if hashlib.sha256(model).hexdigest() != self.model_sha256:
            raise RuntimeError(f"{self.model_path} changed while the encode stage was running")
        self.enc = ex.Encoder(model, self.settings.spm_threads)

    def process(self, batch):
        counts: Counter = Counter()  # one Beam counter update per name and batch, not per record
        groups: dict[tuple[str, str], list[dict]] = {}  # examples leave as one Arrow chunk per partition
        for res in encode_batch(batch, self.enc, self.settings):
            unit = UNITS[res[1]]
            counts[f"{unit}.read"] += 1
            if res[0] == "drop":
                _, obj, row, why = res
                counts[f"{unit}.dropped.{why.reason}"] += 1
                yield beam.pvalue.TaggedOutput(REJECTS_TAG, make_reject(
                    STAGE, STEP, why.reason, source=row.get("_source"), record_id=row.get(ID_FIELD[obj]),
                    detail=why.detail or None, sample=row.get("text") or row.get("src_text")))
            else:
                _, obj, examples = res
                counts[f"{unit}.kept"] += 1
                counts[f"{obj}.examples"] += len(examples)
                counts[f"{obj}.tokens"] += sum(e["n_tokens"] for e in examples)
                for e in examples:
                    groups.setdefault((obj, partition_of(e)), []).append(e)
        for (obj, part), examples in sorted(groups.items()):
            yield beam.pvalue.TaggedOutput(obj, (part, to_chunk(examples)))
        for name, n in counts.items():
            inc(STAGE, name, n)


def partition_of(example: dict) -> str:
    """Shard directory of an example: language, or 'src-tgt' for TLM pairs."""
    return f"{example['lang']}-{example['lang2']}" if example["objective"] == "tlm" else example["lang"]


def build_encode(
    pipeline, inputs: dict[str, list[str]], model_path: str, model_sha256: str, out_root: str, rejects_dir: str,
    settings: EncodeSettings, target_shard_bytes: int = DEFAULT_TARGET_SHARD_BYTES,
    compression: str | None = None, batch_size: int = 256, source_root: str | None = None,
) -> None:
    """inputs: objective → shard paths. Writes out_root/<objective>/<partition>/part-*.arrow."""
    items = sorted((obj, path, source_name(path, source_root)) for obj, paths in inputs.items() for path in paths)
    # An empty Create still runs the writers; they then write nothing and the product dir stays empty.
    results = (
        pipeline
        | "Shards" >> beam.Create(items)
        | "SpreadShards" >> beam.Reshuffle()
        | "ReadRows" >> beam.FlatMap(read_shard, batch_size=batch_size)
        | "Encode" >> beam.ParDo(EncodeFn(model_path, model_sha256, settings)).with_outputs(REJECTS_TAG, *OBJECTIVES)
    )
    for obj in OBJECTIVES:
        if not inputs.get(obj):
            continue  # nothing can reach this writer; the stage creates the empty product dir
        _ = results[obj] | f"Write_{obj}" >> WriteTokenShards(
            posixpath.join(out_root, obj), target_shard_bytes=target_shard_bytes, compression=compression)
    _ = results[REJECTS_TAG] | "WriteRejects" >> WriteShards(
        rejects_dir, REJECTS, lambda r: r["reason"], "reject_id", target_shard_bytes=target_shard_bytes,
        fmt="parquet")
