"""The mono pipeline: input files → documents/ + rejects/mono/.

ReadWarc → Normalize → IdentifyLanguage → QualitySignals → DedupDocuments → DedupLines →
NearDedup (pipelines.neardup, optional) → WriteDocuments; every step's rejects → WriteRejects.
Batches of documents (see pipelines.mono.transforms) travel from ReadWarc to the writer; only
NearDedup, which works on single documents, gets them one by one.
"""

from __future__ import annotations

from collections import Counter

import apache_beam as beam

from pipelines.counters import inc
from pipelines.mono.dedup import DedupDocuments, DedupLines, without_line_keys
from pipelines.mono.params import MonoParams
from pipelines.mono.transforms import IdentifyLanguage, Normalize, QualitySignals, ReadWarc, unbatch
from pipelines.shards import WriteShards
from schemas.documents import DOCUMENTS, REJECTS


def _no_clusters(doc: dict) -> dict:
    return {**doc, "dup_cluster_id": doc["doc_id"], "dup_cluster_size": 1}


def _count_kept(doc: dict, stage: str) -> dict:
    inc(stage, "docs.kept")
    inc(stage, f"by_lang.{doc['lang']}.kept")
    return doc


def finish_batch(batch: list[dict], stage: str) -> list[dict]:
    """Documents of a batch as written without near-dedup (each its own cluster), counted as kept:
    one counter update per language and batch, not per document."""
    langs = Counter(d["lang"] for d in batch)
    inc(stage, "docs.kept", len(batch))
    for lang, n in sorted(langs.items()):
        inc(stage, f"by_lang.{lang}.kept", n)
    return [_no_clusters(d) for d in batch]


def build_mono(pipeline: beam.Pipeline, params: MonoParams) -> None:
    """Add the mono pipeline to `pipeline` (run by the caller)."""
    stage = params.stage
    rejects = []
    paths = pipeline | "InputFiles" >> beam.Create(sorted(params.files))
    raws, r = paths | "ReadWarc" >> ReadWarc(stage, params.html_main_content, params.text_field, params.batch_size)
    rejects.append(r)
    docs, r = raws | "Normalize" >> Normalize(stage)
    rejects.append(r)
    docs, r = docs | "IdentifyLanguage" >> IdentifyLanguage(stage, params.lid)
    rejects.append(r)
    docs, r = docs | "QualitySignals" >> QualitySignals(stage, params.quality)
    rejects.append(r)
    if params.dedup_docs:
        docs, r = docs | "DedupDocuments" >> DedupDocuments(stage, params.dedup_partitions)
        rejects.append(r)
    if params.dedup_lines:
        docs, r = docs | "DedupLines" >> DedupLines(stage, params.min_chars_after_dedup, params.min_words_after_dedup,
                                                    params.dedup_partitions)
        rejects.append(r)
    else:
        docs = docs | "NoLineDedup" >> beam.Map(lambda b: [{**without_line_keys(d), "lines_removed": 0} for d in b])
    if params.neardup is not None:
        from pipelines.neardup.transform import NearDedup  # built separately; imported only when used

        docs, r = docs | "Unbatch" >> beam.FlatMap(unbatch) | "NearDedup" >> NearDedup(params.neardup, stage=stage)
        rejects.append(r)
        docs = docs | "CountKept" >> beam.Map(_count_kept, stage)
        batched = False
    else:
        docs = docs | "SingletonClusters" >> beam.Map(finish_batch, stage)
        batched = True  # documents stay in batches up to the writer: far fewer runner elements
    docs | "WriteDocuments" >> WriteShards(params.out_documents, DOCUMENTS, lambda d: d["lang"], "doc_id",
                                           params.target_shard_bytes, batched=batched)
    (
        rejects
        | "AllRejects" >> beam.Flatten()
        | "WriteRejects" >> WriteShards(params.out_rejects, REJECTS, lambda r: r["reason"], "reject_id",
                                        params.target_shard_bytes)
    )
