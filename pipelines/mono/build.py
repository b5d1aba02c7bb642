"""The mono pipeline: input files → documents/ + rejects/mono/.

ReadWarc → Normalize → IdentifyLanguage → QualitySignals → DedupDocuments → DedupLines →
NearDedup (pipelines.neardup, optional) → WriteDocuments; every step's rejects → WriteRejects.
ReadWarc to DedupLines carry batches of documents (see pipelines.mono.transforms); from there on
one element per document.
"""

from __future__ import annotations

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
        docs = docs | "Unbatch" >> beam.FlatMap(unbatch)
    else:
        docs = docs | "NoLineDedup" >> beam.FlatMap(lambda b: [{**without_line_keys(d), "lines_removed": 0} for d in b])
    if params.neardup is not None:
        from pipelines.neardup.transform import NearDedup  # built separately; imported only when used

        docs, r = docs | "NearDedup" >> NearDedup(params.neardup, stage=stage)
        rejects.append(r)
    else:
        docs = docs | "SingletonClusters" >> beam.Map(_no_clusters)
    (
        docs
        | "CountKept" >> beam.Map(_count_kept, stage)
        | "WriteDocuments" >> WriteShards(params.out_documents, DOCUMENTS, lambda d: d["lang"], "doc_id",
                                          params.target_shard_bytes)
    )
    (
        rejects
        | "AllRejects" >> beam.Flatten()
        | "WriteRejects" >> WriteShards(params.out_rejects, REJECTS, lambda r: r["reason"], "reject_id",
                                        params.target_shard_bytes)
    )
