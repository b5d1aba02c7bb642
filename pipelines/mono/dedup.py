"""Exact dedup across the whole corpus: whole documents (DedupDocuments) and lines (DedupLines).

Both compare CCNet-style normal forms (pipelines.normalize.dedup_key), so copies that differ only in
case, digits, accents or punctuation count as the same. Both keep the first copy in a fixed order
(smallest doc_id, then line number), so the result does not depend on workers or bundle order, and
both join by shuffles (GroupByKey / CoGroupByKey), never by side inputs.

Whole-document dedup runs first: two identical pages are then reported as `exact_duplicate`, not as
a document emptied by line dedup.
"""

from __future__ import annotations

import hashlib

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from pipelines.counters import REJECTS_TAG, inc
from pipelines.mono.transforms import doc_reject
from pipelines.normalize import dedup_key, join_lines, split_lines
from pipelines.quality import quality_signals


def _digest(s: str) -> bytes:
    return hashlib.blake2b(s.encode("utf-8", "surrogatepass"), digest_size=12).digest()


LINE_KEYS = "_line_keys"  # transient field: line keys computed once, reused by DedupLines


def line_digests(text: str) -> list[tuple[int, bytes]]:
    """(line number, key) of every non-empty line."""
    return [(i, _digest(dedup_key(ln))) for i, ln in enumerate(split_lines(text)) if ln]


def doc_key(text: str, digests: list[tuple[int, bytes]] | None = None) -> bytes:
    """Key of a whole document: the keys of its non-empty lines, in order."""
    digests = line_digests(text) if digests is None else digests
    return hashlib.blake2b(b"".join(d for _, d in digests), digest_size=12).digest()


def with_keys(doc: dict) -> tuple[bytes, dict]:
    digests = line_digests(doc["text"])
    return doc_key(doc["text"], digests), {**doc, LINE_KEYS: digests}


def line_keys(doc: dict) -> list[tuple[bytes, tuple[str, int]]]:
    """(line key, (doc_id, line_no)) for every non-empty line of a document."""
    doc_id = doc["doc_id"]
    digests = doc.get(LINE_KEYS)
    if digests is None:
        digests = line_digests(doc["text"])
    return [(d, (doc_id, i)) for i, d in digests]


def _order(doc: dict) -> tuple:
    return doc["doc_id"], doc["source"], doc.get("source_offset") or 0


# ------------------------------------------------------------------------------------- documents


class _KeepFirstDocFn(beam.DoFn):
    def __init__(self, stage: str):
        self.stage = stage

    def process(self, kv):
        _, docs = kv
        best = None
        seen = []  # light copies only: a group may be large (a page copied many times)
        for doc in docs:
            seen.append({k: doc.get(k) for k in ("doc_id", "source", "source_offset", "lang")}
                        | {"text": doc["text"][:200]})
            if best is None or _order(doc) < _order(best):
                best = doc
        kept_once = False
        for light in seen:
            if not kept_once and _order(light) == _order(best):
                kept_once = True  # the keeper itself (exactly once, even if listed twice)
                continue
            yield TaggedOutput(REJECTS_TAG, doc_reject(self.stage, "DedupDocuments", "exact_duplicate", light,
                                                       f"same text as {best['doc_id']}"))
        yield best


class DedupDocuments(beam.PTransform):
    """Whole-document exact dedup: one document per normalized text (smallest doc_id kept)."""

    def __init__(self, stage: str, label: str | None = None):
        super().__init__(label)
        self.stage = stage

    def expand(self, docs):
        out = (
            docs
            | "KeyByText" >> beam.Map(with_keys)
            | "GroupCopies" >> beam.GroupByKey()
            | "KeepFirst" >> beam.ParDo(_KeepFirstDocFn(self.stage)).with_outputs(REJECTS_TAG, main="docs")
        )
        return out.docs, out[REJECTS_TAG]


# ----------------------------------------------------------------------------------------- lines


class _ChooseLineFn(beam.DoFn):
    """For one line key: keep its smallest (doc_id, line_no), emit the others as removals."""

    def __init__(self, stage: str):
        self.stage = stage

    def process(self, kv):
        _, places = kv
        best = None
        n = 0
        for place in places:
            n += 1
            if best is None:
                best = place
                continue
            if place < best:
                best, place = place, best
            yield place[0], place[1]
        inc(self.stage, "lines.read", n)
        inc(self.stage, "lines.kept", 1)
        if n > 1:
            inc(self.stage, "lines.dropped.duplicate", n - 1)


def remove_lines(doc: dict, removed: set[int]) -> dict:
    """The document without the given line numbers, with its signals recomputed on the new text.

    dup_line_frac keeps its pre-dedup value: after line dedup it would always be 0.
    """
    lines = split_lines(doc["text"])
    text = join_lines([ln for i, ln in enumerate(lines) if i not in removed])
    sig = quality_signals(text).as_dict()
    sig.pop("dup_line_frac")
    return {**doc, **sig, "text": text, "lines_removed": len(removed)}


class _ApplyRemovalsFn(beam.DoFn):
    def __init__(self, stage: str, min_chars: int, min_words: int):
        self.stage, self.min_chars, self.min_words = stage, min_chars, min_words

    def process(self, kv):
        _, grouped = kv
        removed = set(grouped["removed"])
        for doc in grouped["doc"]:
            if not removed:
                yield {**doc, "lines_removed": 0}
                continue
            new = remove_lines(doc, removed)
            if new["n_chars"] < self.min_chars or new["n_words"] < self.min_words:
                yield TaggedOutput(REJECTS_TAG, doc_reject(
                    self.stage, "DedupLines", "too_short_after_dedup", doc,
                    f"{len(removed)} of {doc['n_lines']} lines were copies; {new['n_chars']} chars left"))
                continue
            yield new


class DedupLines(beam.PTransform):
    """CCNet-style line dedup across the corpus: later copies of a line leave their documents;
    documents left shorter than min_chars / min_words are dropped (too_short_after_dedup)."""

    def __init__(self, stage: str, min_chars: int, min_words: int, label: str | None = None):
        super().__init__(label)
        self.stage, self.min_chars, self.min_words = stage, min_chars, min_words

    def expand(self, docs):
        by_id = docs | "KeyById" >> beam.Map(lambda d: (d["doc_id"], {k: v for k, v in d.items() if k != LINE_KEYS}))
        removals = (
            docs
            | "LineKeys" >> beam.FlatMap(line_keys)
            | "GroupLines" >> beam.GroupByKey()
            | "ChooseFirst" >> beam.ParDo(_ChooseLineFn(self.stage))
        )
        out = (
            {"doc": by_id, "removed": removals}
            | "JoinRemovals" >> beam.CoGroupByKey()
            | "RemoveLines" >> beam.ParDo(_ApplyRemovalsFn(self.stage, self.min_chars, self.min_words))
            .with_outputs(REJECTS_TAG, main="docs")
        )
        return out.docs, out[REJECTS_TAG]
