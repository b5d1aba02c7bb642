"""The mono pipeline in two passes, CCNet-style: text is written once before the final shards and
never crosses a shuffle.

    InputFiles ─ StageFiles (pass 1: read, normalize, LID, quality → chunks + rejects pieces + keys)
      ─ DocCopies        GroupByKey on each document's key (exact_duplicate)
      ─ LineKeys         distinct line keys per chunk and key range → contested keys
      ─ LineFirsts       each chunk's first order of its contested keys → winners (pipelines.mono.exact)
      ─ SignChunks       (near-dup on) line-deduped text → MinHash band keys + a table per chunk
      ─ NearDupClusters  buckets, candidate pairs, connected components (pipelines.neardup.clusters)
      ─ WriteChunks      (pass 2) decisions applied; final documents and rejects as pieces
      ─ CompactDocuments / CompactRejects   pieces → final shards (pipelines.pieces)

Every decision is routed back by chunk_id, the key of a chunk written in pass 1; what the shuffles
carry is counted as `shuffle.<name>.bytes` in the manifests. The work folder (chunks, pieces) lives
under the stage's staging area and goes away with it.
"""

from __future__ import annotations

import apache_beam as beam
import numpy as np

from pipelines.lid import LanguageIdentifier
from pipelines.mono.chunks import Chunk, read_npz
from pipelines.mono.exact import (
    chunk_key_parts,
    contested,
    doc_copies,
    live_occurrences,
    local_first,
    winners,
)
from pipelines.mono.params import MonoParams
from pipelines.mono.pass1 import DocKey, InputFile, stage_file
from pipelines.mono.pass2 import Decisions, gather, load_sign_table, sign_chunk, write_chunk
from pipelines.neardup.clusters import NearDupClusters
from pipelines.neardup.minhash import permutations
from pipelines.pieces import CompactPieces, Piece
from pipelines.ranges import num_ranges, unpack
from pipelines.shuffle import CountedCoGroupByKey, CountedGroupByKey
from schemas.documents import DOCUMENTS, REJECTS

PIECES = "pieces"
DOC_KEYS = "doc_keys"


class _StageFiles(beam.DoFn):
    """Pass 1 (pipelines.mono.pass1.stage_file) per input file; the LID model loads once per worker."""

    def __init__(self, params: MonoParams):
        self.params = params

    def setup(self):
        self.lid = LanguageIdentifier(self.params.lid.model_path)

    def process(self, f: InputFile):
        for out in stage_file(f, self.params, self.lid):
            if isinstance(out, Piece):
                yield beam.pvalue.TaggedOutput(PIECES, out)
            elif isinstance(out, DocKey):
                yield beam.pvalue.TaggedOutput(DOC_KEYS, (out.key, out.order))
            else:
                yield out


def _live_keys(chunk: Chunk, copies, work_dir: str):
    """The chunk's key file and the mask of its lines outside exact-copy documents."""
    keys = read_npz(chunk.keys_path(work_dir))
    return keys, live_occurrences(keys, (i for i, _ in copies))


def _line_key_parts(kv, n_lines: int, keys_per_range: int, work_dir: str):
    chunk_id, g = kv
    for chunk in g["chunk"]:
        keys, live = _live_keys(chunk, g["copies"], work_dir)
        yield from chunk_key_parts(chunk_id, keys, live, num_ranges(n_lines, keys_per_range))


def _local_first(kv, n_lines: int, keys_per_range: int, work_dir: str):
    chunk_id, g = kv
    chunks = list(g["chunk"])
    if not chunks or not g["contested"]:
        return
    keys, live = _live_keys(chunks[0], g["copies"], work_dir)
    wanted = np.concatenate([unpack(b, np.uint64) for b in g["contested"]])
    yield from local_first(chunk_id, keys, live, wanted, num_ranges(n_lines, keys_per_range))


class _SignChunks(beam.DoFn):
    def __init__(self, params: MonoParams):
        self.params = params

    def setup(self):
        self.perm = permutations(self.params.neardup.num_perm, self.params.neardup.seed)

    def process(self, dec: Decisions, n_docs: int):
        n_ranges = num_ranges(n_docs * self.params.neardup.bands, self.params.dedup_keys_per_range)
        parts = sign_chunk(dec, self.params, self.perm, n_ranges)
        yield beam.pvalue.TaggedOutput("tables", (dec.chunk.chunk_id, dec.chunk))
        yield from parts


class _WriteChunks(beam.DoFn):
    def __init__(self, params: MonoParams):
        self.params = params

    def process(self, dec: Decisions):
        yield from write_chunk(dec, self.params)


def _gather(kv):
    dec = gather(*kv)
    if dec is not None:
        yield dec


def build_mono(pipeline: beam.Pipeline, params: MonoParams) -> None:
    """Add the mono pipeline to `pipeline` (run by the caller)."""
    stage, work = params.stage, params.work_dir
    per_range = params.dedup_keys_per_range
    inputs = [InputFile(i, path, source) for i, (path, source) in enumerate(params.inputs)]
    staged = (
        pipeline
        | "InputFiles" >> beam.Create(inputs, reshuffle=False)
        | "SpreadFiles" >> beam.Reshuffle()
        | "StageFiles" >> beam.ParDo(_StageFiles(params)).with_outputs(PIECES, DOC_KEYS, main="chunks")
    )
    chunks = staged.chunks | "ChunkById" >> beam.Map(lambda c: (c.chunk_id, c))
    copies = pipeline | "NoCopies" >> beam.Create([])
    if params.dedup_docs:
        copies = (
            staged[DOC_KEYS]
            | "GroupDocKeys" >> CountedGroupByKey(stage, "doc_keys")
            | "DocCopies" >> beam.FlatMap(lambda kv: doc_copies(kv[1]))
        )
    won = pipeline | "NoWinners" >> beam.Create([])
    if params.dedup_lines:
        n_lines = beam.pvalue.AsSingleton(
            staged.chunks | "Lines" >> beam.Map(lambda c: c.n_lines) | "SumLines" >> beam.CombineGlobally(sum))
        contested_keys = (
            {"chunk": chunks, "copies": copies}
            | "JoinCopies" >> CountedCoGroupByKey(stage, "chunk_copies")
            | "LineKeyParts" >> beam.FlatMap(_line_key_parts, n_lines, per_range, work)
            | "GroupLineKeys" >> CountedGroupByKey(stage, "line_keys")
            | "Contested" >> beam.FlatMap(lambda kv: contested(kv[1]))
        )
        won = (
            {"chunk": chunks, "copies": copies, "contested": contested_keys}
            | "JoinContested" >> CountedCoGroupByKey(stage, "line_contested")
            | "LocalFirsts" >> beam.FlatMap(_local_first, n_lines, per_range, work)
            | "GroupLineFirsts" >> CountedGroupByKey(stage, "line_firsts")
            | "Winners" >> beam.FlatMap(lambda kv: winners(kv[1]))
        )
    decisions = {"chunk": chunks, "copies": copies, "won": won}
    if params.neardup is not None and params.neardup.enabled:
        n_docs = beam.pvalue.AsSingleton(
            staged.chunks | "Docs" >> beam.Map(lambda c: c.n_docs) | "SumDocs" >> beam.CombineGlobally(sum))
        signed = (
            decisions
            | "JoinForSigning" >> CountedCoGroupByKey(stage, "decisions_sign")
            | "GatherForSigning" >> beam.FlatMap(_gather)
            | "SignChunks" >> beam.ParDo(_SignChunks(params), n_docs).with_outputs("tables", main="bands")
        )
        members = (signed.bands, signed.tables) | "NearDupClusters" >> NearDupClusters(
            params.neardup, stage, lambda chunk: load_sign_table(chunk, work))
        decisions = {**decisions, "member": members}
    pieces = (
        decisions
        | "JoinDecisions" >> CountedCoGroupByKey(stage, "decisions")
        | "GatherDecisions" >> beam.FlatMap(_gather)
        | "WriteChunks" >> beam.ParDo(_WriteChunks(params))
    )
    all_pieces = (pieces, staged[PIECES]) | "AllPieces" >> beam.Flatten()
    docs = all_pieces | "DocPieces" >> beam.Filter(lambda p: p.kind == "documents")
    rejects = all_pieces | "RejectPieces" >> beam.Filter(lambda p: p.kind == "rejects")
    docs | "CompactDocuments" >> CompactPieces(work, params.out_documents, DOCUMENTS, params.target_shard_bytes,
                                               stage, "document_pieces")
    rejects | "CompactRejects" >> CompactPieces(work, params.out_rejects, REJECTS, params.target_shard_bytes,
                                                stage, "reject_pieces")


__all__ = ["build_mono", "Chunk"]
