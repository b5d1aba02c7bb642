"""`NearDupClusters`: MinHash LSH clusters of documents that live in *units* (chunks), moving hashes
and indexes, not documents.

Each unit (an intermediate chunk of the mono stage, or a batch of documents) is signed where it lies
(`sign_unit`): per document its b band keys (64-bit, band index folded in) and a small table row —
its node (−length, doc_id, unit, index) and its verification payload. Then:

    BandKeys (packed per key range) ─ GroupByKey on the range ─ buckets with ≥ 2 documents
      ─ members routed to their unit ─ CoGroupByKey with the unit's table ─ (bucket, node, payload)
      ─ GroupByKey on the bucket ─ candidate pairs, verified in place ─ distinct edges
      ─ ConnectedComponents (pipelines.neardup.transform) ─ membership routed back by unit

Only documents that share a bucket with another one ever leave their unit with more than 12 bytes
per band; for the rest the shuffle carries their band keys and indexes. Decisions are those of the
per-document `NearDedup`: the same buckets, the same pairs (all pairs up to `max_pair_bucket`
members, else a star to the bucket's smallest node), the same verification and keep rule (the
longest text, ties by the smallest doc_id).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import apache_beam as beam
import numpy as np

from pipelines.counters import inc
from pipelines.neardup.minhash import SIG, band_hashes, estimated_jaccard, exact_jaccard, signatures
from pipelines.neardup.params import NearDupParams
from pipelines.neardup.shingles import U64, batch_shingle_hashes, mix64
from pipelines.ranges import pack, repeated_rows, split_by_range, unpack
from pipelines.shuffle import CountedCoGroupByKey, CountedGroupByKey

Node = tuple[int, str, object, int]  # (−len(text), doc_id, unit, index): smallest = the document kept
_BAND_SALT = U64(0xD6E8FEB86659FD93)


@dataclass
class UnitTable:
    """Per signed document of a unit: index in the unit, −len(text), doc_id, verification payload."""

    idx: list[int]
    neg_len: list[int]
    doc_id: list[str]
    payload: list[bytes]

    def rows(self) -> dict[int, tuple[int, str, bytes]]:
        return {i: (n, d, p) for i, n, d, p in zip(self.idx, self.neg_len, self.doc_id, self.payload, strict=True)}


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n × bands) uint64 bucket keys: each band's hash mixed with its band index (a bucket of band
    j never meets one of band k)."""
    h = band_hashes(sig, bands, rows)
    salt = (np.arange(1, bands + 1, dtype=U64) * _BAND_SALT)[None, :]
    return mix64(h ^ salt)


def sign_texts(texts: list[str], p: NearDupParams, perm) -> tuple[np.ndarray, np.ndarray, list[bytes]]:
    """(band keys n × b, has-shingles mask, payloads) of documents. A document without shingles gets
    no bucket and is never anyone's near-duplicate."""
    flat, offsets = batch_shingle_hashes(texts, p.ngram, p.char_ngram, p.seed)
    sig = signatures(flat, offsets, perm)
    keys = band_keys(sig, p.bands, p.rows)
    has = np.diff(offsets) > 0
    if p.verify == "estimated":
        payload = [sig[i].tobytes() for i in range(len(texts))]
    elif p.verify == "exact":
        payload = [np.unique(flat[offsets[i]: offsets[i + 1]]).tobytes() for i in range(len(texts))]
    else:
        payload = [b""] * len(texts)
    return keys, has, payload


def band_parts(unit, keys: np.ndarray, idx: np.ndarray, n_ranges: int) -> Iterator[tuple[int, tuple]]:
    """(range, (unit, bucket keys, document indexes)) for the band keys of a unit's documents."""
    flat = keys.ravel()
    owner = np.repeat(idx.astype(np.uint32), keys.shape[1])
    for r, ks, ix in split_by_range(flat, n_ranges, owner):
        yield r, (unit, pack(ks), pack(ix))


def collided(parts: Iterable[tuple]) -> Iterator[tuple[object, tuple[int, int]]]:
    """One range: (unit, (bucket key, index)) for every member of a bucket of ≥ 2 documents."""
    parts = list(parts)
    keys = np.concatenate([unpack(k, U64) for _, k, _ in parts])
    idx = np.concatenate([unpack(i, np.uint32) for _, _, i in parts])
    owner = np.repeat(np.arange(len(parts)), [len(k) // 8 for _, k, _ in parts])
    signed = keys.view(np.int64)  # Beam's int coder takes signed 64-bit keys
    for row in repeated_rows(keys).tolist():
        yield parts[owner[row]][0], (int(signed[row]), int(idx[row]))


def annotate(unit, table: UnitTable, members: Iterable[tuple[int, int]]) -> Iterator[tuple[int, tuple[Node, bytes]]]:
    """(bucket, (node, payload)) for the unit's members of collided buckets."""
    rows = table.rows()
    for bucket, i in members:
        neg_len, doc_id, payload = rows[i]
        yield bucket, ((neg_len, doc_id, unit, i), payload)


def bucket_pairs(members: Iterable[tuple[Node, bytes]], all_pairs_up_to: int, verify: str,
                 threshold: float) -> Iterator[tuple[tuple[Node, Node], bool]]:
    """((child, parent), similar?) for the candidate pairs of one bucket: all pairs up to
    `all_pairs_up_to` documents, else a star to the smallest node (same connectivity, O(n))."""
    payload = dict(members)
    ns = sorted(payload)
    if len(ns) < 2:
        return
    if len(ns) > all_pairs_up_to:
        pairs = [(v, ns[0]) for v in ns[1:]]
    else:
        pairs = [(ns[j], ns[i]) for i in range(len(ns)) for j in range(i + 1, len(ns))]
    for child, parent in pairs:
        yield (child, parent), (verify == "none" or similarity(payload[child], payload[parent], verify) >= threshold)


def similarity(a: bytes, b: bytes, verify: str) -> float:
    if verify == "estimated":  # payloads are signatures
        return estimated_jaccard(np.frombuffer(a, dtype=SIG), np.frombuffer(b, dtype=SIG))
    return exact_jaccard(np.frombuffer(a, dtype=np.uint64), np.frombuffer(b, dtype=np.uint64))


class _Annotate(beam.DoFn):
    def __init__(self, load_table):
        self.load_table = load_table

    def process(self, kv):
        unit, g = kv
        members = list(g["member"])
        if not members:
            return
        for ref in g["table"]:
            yield from annotate(unit, self.load_table(ref), members)


class _CountPairs(beam.DoFn):
    """Counts distinct candidate pairs (unit `neardup_pairs`) and passes the similar ones on."""

    def __init__(self, stage: str, verify: str):
        self.stage, self.verify = stage, verify

    def start_bundle(self):
        self.read = self.kept = 0

    def process(self, pair_verdict):
        edge, similar = pair_verdict
        self.read += 1
        if similar:
            self.kept += 1
            yield edge

    def finish_bundle(self):
        if self.read and self.verify != "none":
            inc(self.stage, "neardup_pairs.read", self.read)
            inc(self.stage, "neardup_pairs.kept", self.kept)
            if self.read > self.kept:
                inc(self.stage, "neardup_pairs.dropped.below_threshold", self.read - self.kept)


class NearDupClusters(beam.PTransform):
    """(band parts, unit tables) → (unit, (index, cluster doc_id, cluster size)) for every document
    in a cluster of two or more.

    band parts: (range, (unit, packed bucket keys, packed indexes)) from `band_parts`;
    tables: (unit, ref) with `load_table(ref) -> UnitTable` (ref may be a path or the table itself).
    """

    def __init__(self, params: NearDupParams, stage: str, load_table, label: str | None = None):
        super().__init__(label)
        self.params, self.stage, self.load_table = params, stage, load_table

    def expand(self, inputs):
        from pipelines.neardup.transform import ConnectedComponents

        bands, tables = inputs
        p, stage = self.params, self.stage
        # Without verification a star per bucket gives the same components as all pairs.
        all_pairs_up_to = p.max_pair_bucket if p.verify != "none" else 1
        members = (
            bands
            | "GroupBandRanges" >> CountedGroupByKey(stage, "neardup_bands")
            | "Collided" >> beam.FlatMap(lambda kv: collided(kv[1]))
        )
        annotated = (
            {"table": tables, "member": members}
            | "JoinUnitTables" >> CountedCoGroupByKey(stage, "neardup_members")
            | "Annotate" >> beam.ParDo(_Annotate(self.load_table))
        )
        edges = (
            annotated
            | "GroupBuckets" >> CountedGroupByKey(stage, "neardup_buckets")
            | "BucketPairs" >> beam.FlatMap(
                lambda kv: bucket_pairs(kv[1], all_pairs_up_to, p.verify, p.threshold))
            | "DistinctKey" >> beam.Map(lambda pv: (pv, None))
            | "DistinctPairs" >> CountedGroupByKey(stage, "neardup_pairs")
            | "PairOnce" >> beam.Map(lambda kv: kv[0])
            | "CountPairs" >> beam.ParDo(_CountPairs(stage, p.verify))
        )
        return (
            edges
            | "ConnectedComponents" >> ConnectedComponents(p.max_rounds, stage)
            | "ByUnit" >> beam.Map(lambda mr: (mr[0][2], (mr[0][3], mr[1][0][1], mr[1][1])))
        )
