"""`NearDedup`: MinHash LSH near-duplicate removal as one composite Beam transform, every step a
shuffle (no single-node clustering step, no side input that must fit in memory).

    docs ─ Signatures ─ CandidatePairs (GroupByKey on band bucket) ─ [VerifyPairs (2× CoGroupByKey)]
         ─ ConnectedComponents (large-star/small-star rounds, unrolled; star-forest check)
         ─ KeepOnePerCluster (CoGroupByKey with the documents) → kept docs, rejects

Keep rule: in each cluster the document with the longest text (most characters) is kept, ties broken by
the smallest doc_id. Graph nodes are (-len(text), doc_id), so a component's minimum node — the root that
connected components ends on — is exactly the kept document, and `dup_cluster_id` is its doc_id.
Every kept document carries `dup_cluster_id` and `dup_cluster_size` (unique: own doc_id, 1); removed
ones become `rejects` rows (reason `near_duplicate`) counted `docs.dropped.near_duplicate`.

Usage: ``kept, rejects = docs | "NearDedup" >> NearDedup(params, stage="mono")``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import apache_beam as beam
import numpy as np

from pipelines.counters import drop, inc
from pipelines.neardup.components import large_star, small_star, star_check
from pipelines.neardup.minhash import (
    SIG,
    band_hashes,
    band_key,
    estimated_jaccard,
    exact_jaccard,
    permutations,
)
from pipelines.neardup.minhash import signatures as minhash_signatures
from pipelines.neardup.params import NearDupParams
from pipelines.neardup.shingles import batch_shingle_hashes

Node = tuple[int, str]  # (-len(text), doc_id): the smallest node of a cluster is the document kept
STEP = "NearDedup"
REASON = "near_duplicate"


def node_of(doc: dict) -> Node:
    return (-len(doc["text"]), doc["doc_id"])


def sign_batch(docs: list[dict], p: NearDupParams, perm) -> list[tuple[Node, list[bytes], bytes]]:
    """(node, LSH bucket keys, verification payload) per document; no keys for a document without
    shingles. Payload: signature bytes (verify=estimated), sorted unique shingle hashes (exact), or b""."""
    flat, offsets = batch_shingle_hashes([d["text"] for d in docs], p.ngram, p.char_ngram, p.seed)
    sig = minhash_signatures(flat, offsets, perm)
    bands = band_hashes(sig, p.bands, p.rows)
    out = []
    for i, d in enumerate(docs):
        if offsets[i + 1] == offsets[i]:
            out.append((node_of(d), [], b""))
            continue
        keys = [band_key(j, int(h)) for j, h in enumerate(bands[i])]
        if p.verify == "estimated":
            payload = sig[i].tobytes()
        elif p.verify == "exact":
            payload = np.unique(flat[offsets[i] : offsets[i + 1]]).tobytes()
        else:
            payload = b""
        out.append((node_of(d), keys, payload))
    return out


def bucket_edges(nodes: Iterable[Node], all_pairs_up_to: int) -> list[tuple[Node, Node]]:
    """Edges (child, parent), child > parent, between the documents of one LSH bucket: all pairs for
    buckets up to `all_pairs_up_to` documents (so verification can judge every pair), else a star to
    the bucket's smallest node — same connectivity, O(n) edges."""
    ns = sorted(set(nodes))
    if len(ns) < 2:
        return []
    if len(ns) > all_pairs_up_to:
        return [(v, ns[0]) for v in ns[1:]]
    return [(ns[j], ns[i]) for i in range(len(ns)) for j in range(i + 1, len(ns))]


def pair_similarity(a: bytes, b: bytes, verify: str) -> float:
    if verify == "estimated":  # payloads are signatures
        return estimated_jaccard(np.frombuffer(a, dtype=SIG), np.frombuffer(b, dtype=SIG))
    return exact_jaccard(np.frombuffer(a, dtype=np.uint64), np.frombuffer(b, dtype=np.uint64))


class _SignBatches(beam.DoFn):
    def __init__(self, params: NearDupParams):
        self.params = params

    def setup(self):
        self.perm = permutations(self.params.num_perm, self.params.seed)

    def process(self, batch: list[dict]) -> Iterator[tuple[Node, list[bytes], bytes]]:
        yield from sign_batch(batch, self.params, self.perm)


class Signatures(beam.PTransform):
    """Documents → (node, bucket keys, payload), computed per batch so numpy overhead is amortized."""

    def __init__(self, params: NearDupParams):
        super().__init__()
        self.params = params

    def expand(self, docs):
        n = self.params.batch_size
        return (
            docs
            | "Batch" >> beam.BatchElements(min_batch_size=n, max_batch_size=n)
            | "MinHash" >> beam.ParDo(_SignBatches(self.params))
        )


class CandidatePairs(beam.PTransform):
    """(band, bucket hash) → GroupByKey → distinct candidate edges between documents sharing a bucket."""

    def __init__(self, params: NearDupParams):
        super().__init__()
        # Without verification a star per bucket gives the same components as all pairs.
        self.all_pairs_up_to = params.max_pair_bucket if params.verify != "none" else 1

    def expand(self, signed):
        limit = self.all_pairs_up_to
        return (
            signed
            | "BucketKeys" >> beam.FlatMap(lambda s: [(k, s[0]) for k in s[1]])
            | "GroupBuckets" >> beam.GroupByKey()
            | "BucketEdges" >> beam.FlatMap(lambda kv: bucket_edges(kv[1], limit))
            | "DistinctEdges" >> beam.Distinct()
        )


class VerifyPairs(beam.PTransform):
    """Keep a candidate edge only when its two documents' similarity ≥ threshold. The payloads are
    joined onto the edge by two CoGroupByKeys (parent side, then child side). Counted as unit
    `neardup_pairs` (read = kept + dropped.below_threshold)."""

    def __init__(self, params: NearDupParams, stage: str):
        super().__init__()
        self.params, self.stage = params, stage

    def expand(self, edges_and_signed):
        edges, signed = edges_and_signed
        verify, threshold, stage = self.params.verify, self.params.threshold, self.stage
        payload = signed | "Payloads" >> beam.Map(lambda s: (s[0], s[2]))

        def to_child(kv):
            parent, g = kv
            for p in g["payload"]:
                for child in g["edges"]:
                    yield child, (parent, p)

        def judge(kv):
            child, g = kv
            for pc in g["payload"]:
                for parent, pp in g["half"]:
                    inc(stage, "neardup_pairs.read")
                    if pair_similarity(pc, pp, verify) >= threshold:
                        inc(stage, "neardup_pairs.kept")
                        yield child, parent
                    else:
                        inc(stage, "neardup_pairs.dropped.below_threshold")

        half = (
            {"payload": payload, "edges": edges | "ByParent" >> beam.Map(lambda e: (e[1], e[0]))}
            | "JoinParent" >> beam.CoGroupByKey()
            | "ToChild" >> beam.FlatMap(to_child)
        )
        return (
            {"payload": payload, "half": half}
            | "JoinChild" >> beam.CoGroupByKey()
            | "Judge" >> beam.FlatMap(judge)
        )


class _Star(beam.DoFn):
    def __init__(self, kind: str, stage: str, round_no: int):
        self.kind, self.stage, self.round_no = kind, stage, round_no

    def process(self, kv):
        u, nb = kv
        out, changed = (large_star if self.kind == "large" else small_star)(u, nb)
        if changed:
            inc(self.stage, f"neardup.cc_changed.round_{self.round_no:02d}", changed)
        yield from out


def _check(kv):
    u, tagged = kv
    members, _parent = star_check(u, tagged)
    size = len(members)
    for m in members:  # only roots list members: each cluster is emitted once, by its kept doc
        yield m[1], (u[1], size)


class ConnectedComponents(beam.PTransform):
    """Edges → (doc_id, (cluster doc_id, cluster size)) for every document in a non-trivial cluster.

    `max_rounds` rounds of large-star + small-star are unrolled when the graph is built (a Beam graph
    is static); each round counts rewired edges in `neardup.cc_changed.round_NN`. A final GroupByKey
    checks that the edges form a star forest and raises NotConvergedError otherwise, so a run never
    leaves a merged cluster split."""

    def __init__(self, max_rounds: int, stage: str):
        super().__init__()
        self.max_rounds, self.stage = max_rounds, stage

    def expand(self, edges):
        for i in range(1, self.max_rounds + 1):
            edges = (
                edges
                | f"LargeStarEmit{i}" >> beam.FlatMap(lambda e: [(e[0], e[1]), (e[1], e[0])])
                | f"LargeStarGroup{i}" >> beam.GroupByKey()
                | f"LargeStar{i}" >> beam.ParDo(_Star("large", self.stage, i))
                | f"SmallStarEmit{i}" >> beam.Map(lambda e: (max(e), min(e)))
                | f"SmallStarGroup{i}" >> beam.GroupByKey()
                | f"SmallStar{i}" >> beam.ParDo(_Star("small", self.stage, i))
            )
        return (
            edges
            | "TagEnds" >> beam.FlatMap(lambda e: [(e[0], ("p", e[1])), (e[1], ("c", e[0]))])
            | "GroupNodes" >> beam.GroupByKey()
            | "CheckStarForest" >> beam.FlatMap(_check)
        )


def assign(doc: dict, membership: list[tuple[str, int]]) -> tuple[dict, str | None]:
    """The document with its cluster fields, and its cluster id when it is removed (None when kept)."""
    cid, size = membership[0] if membership else (doc["doc_id"], 1)
    return {**doc, "dup_cluster_id": cid, "dup_cluster_size": size}, (None if cid == doc["doc_id"] else cid)


class _Keep(beam.DoFn):
    def __init__(self, stage: str):
        self.stage = stage

    def process(self, kv):
        _doc_id, g = kv
        members = list(g["member"])
        for doc in g["docs"]:
            out, removed_for = assign(doc, members)
            if removed_for is None:
                yield out
            else:
                yield beam.pvalue.TaggedOutput(
                    "rejects",
                    drop(
                        self.stage,
                        "docs",
                        STEP,
                        REASON,
                        source=doc.get("source"),
                        offset=doc.get("source_offset"),
                        record_id=doc["doc_id"],
                        detail=f"cluster {removed_for} (size {out['dup_cluster_size']}): "
                        f"near-duplicate of kept doc {removed_for}",
                        sample=doc.get("text"),
                    ),
                )


class NearDedup(beam.PTransform):
    """docs → (kept docs with dup_cluster_id/dup_cluster_size, rejects of removed near-duplicates)."""

    def __init__(self, params: NearDupParams, stage: str):
        super().__init__()
        self.params, self.stage = params, stage

    def expand(self, docs):
        p, stage = self.params, self.stage
        if not p.enabled:
            kept = docs | "Unclustered" >> beam.Map(lambda d: assign(d, [])[0])
            return kept, docs.pipeline | "NoRejects" >> beam.Create([])
        signed = docs | "Signatures" >> Signatures(p)
        edges = signed | "CandidatePairs" >> CandidatePairs(p)
        if p.verify != "none":
            edges = (edges, signed) | "VerifyPairs" >> VerifyPairs(p, stage)
        membership = edges | "ConnectedComponents" >> ConnectedComponents(p.max_rounds, stage)
        result = (
            {"docs": docs | "ByDocId" >> beam.Map(lambda d: (d["doc_id"], d)), "member": membership}
            | "JoinClusters" >> beam.CoGroupByKey()
            | "KeepOnePerCluster" >> beam.ParDo(_Keep(stage)).with_outputs("rejects", main="kept")
        )
        return result.kept, result.rejects
