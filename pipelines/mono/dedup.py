"""Exact dedup across the whole corpus: whole documents (DedupDocuments) and lines (DedupLines).

Both compare CCNet-style normal forms (pipelines.normalize.dedup_keys), so copies that differ only in
case, digits, accents or punctuation count as the same. Both keep the first copy in a fixed order
(documents: smallest (doc_id, source, offset); lines: smallest (doc_id, line number)), so the result
does not depend on workers, bundles or batches, and both join by shuffles, never by side inputs.

Both take and return *batches* of documents (pipelines.mono.transforms) and shuffle few, packed
elements instead of one per line:

1. every batch gets a key (a stable id of its doc ids) and sends, per hash partition of the keys, one
   element holding the keys of its documents (lines) that fall in that partition;
2. GroupByKey on the partition: all copies of a key meet in one partition, where the first
   occurrence is found (for lines: one numpy lexsort over the partition's arrays);
3. the later copies go back packed per batch and are joined to their batch by CoGroupByKey on the
   batch key, which drops the documents (lines).

A partition holds ~ (lines of the corpus / `partitions`) × ~50 bytes in one worker's memory at
step 2; raise `partitions` for corpora far larger than one machine's memory.

Whole-document dedup runs first: two identical pages are then reported as `exact_duplicate`, not as
a document emptied by line dedup.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator

import apache_beam as beam
import numpy as np
from apache_beam.pvalue import TaggedOutput

from pipelines.counters import REJECTS_TAG, inc
from pipelines.ids import stable_id
from pipelines.mono.transforms import doc_reject, split_rejects
from pipelines.normalize import dedup_keys, join_lines, split_lines
from pipelines.quality import quality_signals_batch

DIGEST_BYTES = 16  # 128-bit line keys: no accidental collision at any corpus size
DEFAULT_PARTITIONS = 32
LINE_KEYS = "_line_keys"  # transient field: (digests, line numbers) computed once, reused by DedupLines

Batch = list[dict]


def _digest(s: str) -> bytes:
    return hashlib.blake2b(s.encode("utf-8", "surrogatepass"), digest_size=DIGEST_BYTES).digest()


def line_digests(text: str) -> tuple[bytes, list[int]]:
    """Keys of the non-empty lines (DIGEST_BYTES each, concatenated) and their line numbers."""
    lines = split_lines(text)
    keys = dedup_keys(text)
    nums = [i for i, ln in enumerate(lines) if ln]
    return b"".join(_digest(keys[i]) for i in nums), nums


def doc_key(text: str, digests: bytes | None = None) -> bytes:
    """Key of a whole document: the keys of its non-empty lines, in order."""
    digests = line_digests(text)[0] if digests is None else digests
    return hashlib.blake2b(digests, digest_size=DIGEST_BYTES).digest()


def with_line_keys(doc: dict) -> dict:
    if LINE_KEYS in doc:
        return doc
    return {**doc, LINE_KEYS: line_digests(doc["text"])}


def without_line_keys(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != LINE_KEYS}


def batch_key(batch: Batch) -> str:
    """Join key of a batch: documents have unique stable ids, so their list names the batch."""
    return stable_id(*(d["doc_id"] for d in batch))


def partition_of(digest: bytes, partitions: int) -> int:
    return int.from_bytes(digest[:8], "little") % partitions


def _hashes(digests: bytes) -> np.ndarray:
    """(n × 2) uint64 view of concatenated 16-byte digests."""
    return np.frombuffer(digests, dtype="<u8").reshape(-1, 2)


def packed_dedup(batches, partitions: int, key_parts, later_copies, apply_fn: beam.DoFn, *,
                 keys_label: str, join_label: str, apply_label: str):
    """Steps 1-3 of the module doc, shared by both dedups: `key_parts(batch key, batch, partitions)`
    packs a batch's keys per partition, `later_copies(parts)` finds one partition's later copies
    (packed per batch key), and `apply_fn` gets {"batch": [batch], "later": [...]} per batch key.
    Returns (kept batches, rejects)."""
    keyed = batches | "KeyBatches" >> beam.Map(lambda b: (batch_key(b), [with_line_keys(d) for d in b]))
    later = (
        keyed
        | keys_label >> beam.FlatMap(lambda kv: key_parts(kv[0], kv[1], partitions))
        | "GroupPartitions" >> beam.GroupByKey()
        | "LaterCopies" >> beam.FlatMap(lambda kv: later_copies(kv[1]))
    )
    return split_rejects({"batch": keyed, "later": later} | join_label >> beam.CoGroupByKey(), apply_label, apply_fn)


# ------------------------------------------------------------------------------------- documents


def doc_key_parts(bkey: str, batch: Batch, partitions: int) -> Iterator[tuple[int, tuple[str, list]]]:
    """(partition, (batch key, [(doc key, order, index in batch), ...])) per partition the batch touches."""
    parts: dict[int, list] = defaultdict(list)
    for i, d in enumerate(batch):
        k = doc_key(d["text"], d[LINE_KEYS][0])
        parts[partition_of(k, partitions)].append((k, (d["doc_id"], d["source"], d.get("source_offset") or 0), i))
    for p, entries in sorted(parts.items()):
        yield p, (bkey, entries)


def later_doc_copies(parts: Iterable[tuple[str, list]]) -> Iterator[tuple[str, list[tuple[int, str]]]]:
    """For one partition: (batch key, [(index, doc_id of the kept copy), ...]) of every document that
    is not the first (smallest order) of its doc key."""
    best: dict[bytes, tuple] = {}
    seen = []
    for bkey, entries in parts:
        for k, order, i in entries:
            seen.append((k, order, bkey, i))
            if k not in best or (order, bkey, i) < best[k]:
                best[k] = (order, bkey, i)
    losers: dict[str, list] = defaultdict(list)
    for k, order, bkey, i in seen:
        if best[k] != (order, bkey, i):
            losers[bkey].append((i, best[k][0][0]))
    yield from losers.items()


class _DropDocCopiesFn(beam.DoFn):
    def __init__(self, stage: str):
        self.stage = stage

    def process(self, kv):
        _, g = kv
        drops = {i: kept for part in g["later"] for i, kept in part}
        for batch in g["batch"]:
            kept = []
            for i, doc in enumerate(batch):
                if i in drops:
                    yield TaggedOutput(REJECTS_TAG, doc_reject(self.stage, "DedupDocuments", "exact_duplicate", doc,
                                                               f"same text as {drops[i]}"))
                else:
                    kept.append(doc)
            if kept:
                yield kept


class DedupDocuments(beam.PTransform):
    """Whole-document exact dedup over batches: one document per normalized text (smallest doc_id
    kept). Adds the transient LINE_KEYS field that DedupLines reuses."""

    def __init__(self, stage: str, partitions: int = DEFAULT_PARTITIONS, label: str | None = None):
        super().__init__(label)
        self.stage, self.partitions = stage, partitions

    def expand(self, batches):
        return packed_dedup(batches, self.partitions, doc_key_parts, later_doc_copies, _DropDocCopiesFn(self.stage),
                            keys_label="DocKeys", join_label="JoinDrops", apply_label="DropCopies")


# ----------------------------------------------------------------------------------------- lines


def line_key_parts(bkey: str, batch: Batch, partitions: int) -> Iterator[tuple[int, tuple]]:
    """(partition, (batch key, h, doc ids, line numbers, indexes)) per partition the batch's lines touch:
    h (n × 2 uint64) the line keys, doc ids as bytes (they order the occurrences), one row per line."""
    digests, idx, nums = [], [], []
    for i, d in enumerate(batch):
        dg, ln = d[LINE_KEYS]
        digests.append(dg)
        nums.extend(ln)
        idx.extend([i] * len(ln))
    h = _hashes(b"".join(digests))
    if not len(h):
        return
    ids = np.array([d["doc_id"].encode("utf-8", "surrogatepass") for d in batch], dtype=np.bytes_)
    idx_a = np.asarray(idx, dtype=np.int32)
    nums_a = np.asarray(nums, dtype=np.int32)
    part = h[:, 0] % np.uint64(partitions)
    order = np.argsort(part, kind="stable")
    bounds = np.flatnonzero(np.diff(part[order])) + 1
    for rows in np.split(order, bounds):
        yield int(part[rows[0]]), (bkey, h[rows], ids[idx_a[rows]], nums_a[rows], idx_a[rows])


def later_line_copies(parts: Iterable[tuple]) -> Iterator[tuple[str, tuple[np.ndarray, np.ndarray]]]:
    """For one partition: (batch key, (indexes, line numbers)) of every line occurrence that is not
    the first of its key in (doc_id, line number) order."""
    parts = list(parts)
    if not parts:
        return
    h = np.concatenate([p[1] for p in parts])
    ids = np.concatenate([p[2] for p in parts])
    nums = np.concatenate([p[3] for p in parts])
    idx = np.concatenate([p[4] for p in parts])
    which = np.repeat(np.arange(len(parts)), [len(p[3]) for p in parts])
    order = np.lexsort((nums, ids, h[:, 1], h[:, 0]))  # by key, then doc_id, then line number
    hs = h[order]
    first = np.r_[True, (hs[1:] != hs[:-1]).any(axis=1)]
    later = order[~first]
    later = later[np.argsort(which[later], kind="stable")]
    for rows in np.split(later, np.flatnonzero(np.diff(which[later])) + 1):
        if rows.size:
            yield parts[which[rows[0]]][0], (idx[rows], nums[rows])


def remove_lines(doc: dict, removed: set[int]) -> dict:
    """The document without the given line numbers, with its signals recomputed on the new text.

    dup_line_frac keeps its pre-dedup value: after line dedup it would always be 0.
    """
    return remove_lines_batch([(doc, removed)])[0]


def remove_lines_batch(items: list[tuple[dict, set[int]]]) -> list[dict]:
    """remove_lines of many documents, their signals computed in one batch."""
    texts = [join_lines([ln for i, ln in enumerate(split_lines(d["text"])) if i not in removed]) for d, removed in items]
    out = []
    for (doc, removed), text, sig in zip(items, texts, quality_signals_batch(texts), strict=True):
        sig = sig.as_dict()
        sig.pop("dup_line_frac")
        out.append({**doc, **sig, "text": text, "lines_removed": len(removed)})
    return out


class _RemoveLinesFn(beam.DoFn):
    def __init__(self, stage: str, min_chars: int, min_words: int):
        self.stage, self.min_chars, self.min_words = stage, min_chars, min_words

    def process(self, kv):
        _, g = kv
        removed: dict[int, set[int]] = defaultdict(set)
        for idx, nums in g["later"]:
            for i, n in zip(idx.tolist(), nums.tolist(), strict=True):
                removed[i].add(n)
        for batch in g["batch"]:
            n_lines = sum(len(d[LINE_KEYS][1]) for d in batch)
            n_removed = sum(len(r) for r in removed.values())
            inc(self.stage, "lines.read", n_lines)  # every line is kept once, by its first occurrence
            inc(self.stage, "lines.kept", n_lines - n_removed)
            if n_removed:
                inc(self.stage, "lines.dropped.duplicate", n_removed)
            changed = remove_lines_batch([(without_line_keys(batch[i]), r) for i, r in sorted(removed.items())])
            changed_by_idx = dict(zip(sorted(removed), changed, strict=True))
            kept = []
            for i, doc in enumerate(batch):
                new = changed_by_idx.get(i)
                if new is None:
                    kept.append({**without_line_keys(doc), "lines_removed": 0})
                elif new["n_chars"] < self.min_chars or new["n_words"] < self.min_words:
                    yield TaggedOutput(REJECTS_TAG, doc_reject(
                        self.stage, "DedupLines", "too_short_after_dedup", doc,
                        f"{new['lines_removed']} of {doc['n_lines']} lines were copies; {new['n_chars']} chars left"))
                else:
                    kept.append(new)
            if kept:
                yield kept


class DedupLines(beam.PTransform):
    """CCNet-style line dedup across the corpus, over batches: later copies of a line leave their
    documents; documents left shorter than min_chars / min_words are dropped (too_short_after_dedup).
    Counts unit `lines` (read = kept + dropped.duplicate)."""

    def __init__(self, stage: str, min_chars: int, min_words: int, partitions: int = DEFAULT_PARTITIONS,
                 label: str | None = None):
        super().__init__(label)
        self.stage, self.min_chars, self.min_words, self.partitions = stage, min_chars, min_words, partitions

    def expand(self, batches):
        return packed_dedup(batches, self.partitions, line_key_parts, later_line_copies,
                            _RemoveLinesFn(self.stage, self.min_chars, self.min_words),
                            keys_label="LineKeys", join_label="JoinRemovals", apply_label="RemoveLines")
