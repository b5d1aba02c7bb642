"""Near-duplicate removal with MinHash LSH: connected components, and `NearDedup` for documents in
a PCollection.

The clustering itself is `pipelines.neardup.clusters.NearDupClusters`, which works on documents
where they lie (units) and moves only hashes and indexes; the mono stage runs it over its
intermediate chunks. `NearDedup` is the same clustering for a PCollection of documents (tests and
callers that have documents in memory): documents are batched into units, signed, clustered, and
joined back to their unit — here the documents do cross a shuffle.

Keep rule: in each cluster the document with the longest text (most characters) is kept, ties broken
by the smallest doc_id. Graph nodes are (−len(text), doc_id, unit, index), so a component's minimum
node — the root that connected components ends on — is exactly the kept document, and
`dup_cluster_id` is its doc_id. Every kept document carries `dup_cluster_id` and `dup_cluster_size`
(unique: own doc_id, 1); removed ones become `rejects` rows (reason `near_duplicate`) counted
`docs.dropped.near_duplicate`.

Usage: ``kept, rejects = docs | "NearDedup" >> NearDedup(params, stage="mono")``.
"""

from __future__ import annotations

import apache_beam as beam
import numpy as np

from pipelines.counters import drop, inc
from pipelines.ids import stable_id
from pipelines.neardup.clusters import NearDupClusters, UnitTable, band_parts, sign_texts
from pipelines.neardup.components import large_star, small_star, star_check
from pipelines.neardup.minhash import permutations
from pipelines.neardup.params import NearDupParams
from pipelines.ranges import num_ranges
from pipelines.shuffle import CountedCoGroupByKey, CountedGroupByKey

STEP = "NearDedup"
REASON = "near_duplicate"
KEYS_PER_RANGE = 4_000_000  # band keys per reducer of the bucket shuffle


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
        yield m, (u, size)


class ConnectedComponents(beam.PTransform):
    """Edges → (node, (root node, cluster size)) for every node of a non-trivial cluster (the root too).

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
                | f"LargeStarGroup{i}" >> CountedGroupByKey(self.stage, "neardup_cc")
                | f"LargeStar{i}" >> beam.ParDo(_Star("large", self.stage, i))
                | f"SmallStarEmit{i}" >> beam.Map(lambda e: (max(e), min(e)))
                | f"SmallStarGroup{i}" >> CountedGroupByKey(self.stage, "neardup_cc")
                | f"SmallStar{i}" >> beam.ParDo(_Star("small", self.stage, i))
            )
        return (
            edges
            | "TagEnds" >> beam.FlatMap(lambda e: [(e[0], ("p", e[1])), (e[1], ("c", e[0]))])
            | "GroupNodes" >> CountedGroupByKey(self.stage, "neardup_cc")
            | "CheckStarForest" >> beam.FlatMap(_check)
        )


def assign(doc: dict, membership: list[tuple[int, str, int]]) -> tuple[dict, str | None]:
    """The document with its cluster fields, and its cluster id when it is removed (None when kept).
    membership: [(index, cluster doc_id, size)] (empty for a unique document)."""
    _, cid, size = membership[0] if membership else (None, doc["doc_id"], 1)
    return {**doc, "dup_cluster_id": cid, "dup_cluster_size": size}, (None if cid == doc["doc_id"] else cid)


def near_dup_reject(stage: str, doc: dict, cluster: str, size: int) -> dict:
    """Count a removed near-duplicate and return its rejects row."""
    return drop(stage, "docs", STEP, REASON, source=doc.get("source"), offset=doc.get("source_offset"),
                record_id=doc["doc_id"],
                detail=f"cluster {cluster} (size {size}): near-duplicate of kept doc {cluster}",
                sample=doc.get("text"))


class _SignBatch(beam.DoFn):
    """A batch of documents → its unit key, band parts and table (signed once per batch)."""

    def __init__(self, params: NearDupParams):
        self.params = params

    def setup(self):
        self.perm = permutations(self.params.num_perm, self.params.seed)

    def process(self, batch: list[dict], n_docs: int):
        unit = stable_id(*(d["doc_id"] for d in batch))
        keys, has, payload = sign_texts([d["text"] for d in batch], self.params, self.perm)
        idx = np.flatnonzero(has)
        n_ranges = num_ranges(n_docs * self.params.bands, KEYS_PER_RANGE)
        for part in band_parts(unit, keys[idx], idx, n_ranges):
            yield beam.pvalue.TaggedOutput("bands", part)
        table = UnitTable(idx.tolist(), [-len(batch[i]["text"]) for i in idx.tolist()],
                          [batch[i]["doc_id"] for i in idx.tolist()], [payload[i] for i in idx.tolist()])
        yield beam.pvalue.TaggedOutput("tables", (unit, table))
        yield unit, batch


class _Keep(beam.DoFn):
    def __init__(self, stage: str):
        self.stage = stage

    def process(self, kv):
        _unit, g = kv
        members: dict[int, list] = {}
        for i, cid, size in g["member"]:
            members[i] = [(i, cid, size)]
        for batch in g["docs"]:
            for i, doc in enumerate(batch):
                out, removed_for = assign(doc, members.get(i, []))
                if removed_for is None:
                    yield out
                else:
                    yield beam.pvalue.TaggedOutput(
                        "rejects", near_dup_reject(self.stage, out, removed_for, out["dup_cluster_size"]))


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
        n_docs = beam.pvalue.AsSingleton(docs | "CountDocs" >> beam.combiners.Count.Globally())
        signed = (
            docs
            | "Batch" >> beam.BatchElements(min_batch_size=p.batch_size, max_batch_size=p.batch_size)
            | "Sign" >> beam.ParDo(_SignBatch(p), n_docs).with_outputs("bands", "tables", main="docs")
        )
        membership = (signed.bands, signed.tables) | "Clusters" >> NearDupClusters(p, stage, lambda t: t)
        result = (
            {"docs": signed.docs, "member": membership}
            | "JoinClusters" >> CountedCoGroupByKey(stage, "neardup_join_docs")
            | "KeepOnePerCluster" >> beam.ParDo(_Keep(stage)).with_outputs("rejects", main="kept")
        )
        return result.kept, result.rejects
