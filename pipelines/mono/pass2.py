"""Pass 2 of the mono stage: apply the corpus-wide decisions to one chunk, where it lies.

Decisions arrive routed by chunk_id (pipelines.mono.exact): which documents are exact copies, which
line keys another chunk wins. Both functions here re-read the chunk one row group at a time:

- `sign_chunk` (only with near-dedup on): the line-deduped text of every document that survives,
  its MinHash band keys (what the near-dup shuffle carries) and a small table (length, doc_id,
  verification payload) written next to the chunk for the few documents that collide;
- `write_chunk`: the final documents — lines removed, signals recomputed, cluster fields set — into
  one piece per language, and the rejects of this pass into pieces per reason.

Both derive the same line-deduped text from the same decisions, so the near-dup decisions are made
on exactly the text that is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.counters import inc
from pipelines.mono.chunks import Chunk, iter_chunk_docs, read_npz
from pipelines.mono.exact import live_occurrences, removed_lines
from pipelines.mono.params import MonoParams
from pipelines.mono.steps import doc_reject
from pipelines.neardup.clusters import UnitTable, band_parts, sign_texts
from pipelines.neardup.transform import near_dup_reject
from pipelines.normalize import join_lines, split_lines
from pipelines.pieces import Piece, PieceWriter
from pipelines.quality import quality_signals_batch
from pipelines.shards import filesystem
from schemas.documents import DOCUMENTS, REJECTS

SIGN_TABLE = pa.schema([("idx", pa.uint32()), ("neg_len", pa.int64()), ("doc_id", pa.string()),
                        ("payload", pa.binary())])


@dataclass
class Decisions:
    """Everything decided about one chunk, gathered by chunk_id."""

    chunk: Chunk
    copies: dict[int, str] = field(default_factory=dict)  # index → doc_id of the copy kept
    won: list[tuple[bytes, bytes]] = field(default_factory=list)  # contested line keys, winning orders
    members: dict[int, tuple[str, int]] = field(default_factory=dict)  # index → (cluster doc_id, size)


def gather(chunk_id: int, groups: dict[str, Iterable]) -> Decisions | None:
    chunks = list(groups.get("chunk", []))
    if not chunks:
        return None
    d = Decisions(chunks[0])
    for idx, kept in groups.get("copies", []):
        d.copies[idx] = kept
    d.won = list(groups.get("won", []))
    for idx, cid, size in groups.get("member", []):
        d.members[idx] = (cid, size)
    return d


def line_removals(dec: Decisions, work_dir: str) -> tuple[dict[int, set[int]], int]:
    """(document index → line numbers to remove, non-empty lines of the documents that are not exact
    copies) from the chunk's key file and its decisions."""
    keys = read_npz(dec.chunk.keys_path(work_dir))
    live = live_occurrences(keys, dec.copies)
    return removed_lines(dec.chunk.chunk_id, keys, live, dec.won), int(live.sum())


def _deduped(dec: Decisions, removed: dict[int, set[int]], work_dir: str,
             columns: list[str] | None = None) -> Iterator[tuple[int, dict, set[int] | None]]:
    """(index, document, removed line numbers or None) for every document of the chunk, in order;
    removed is None for an exact copy."""
    idx = 0
    for batch in iter_chunk_docs(dec.chunk.path(work_dir), columns=columns):
        for doc in batch:
            yield idx, doc, (None if idx in dec.copies else removed.get(idx, set()))
            idx += 1


SIGNALS = ("n_chars", "n_words", "n_lines", "mean_word_len", "symbol_ratio", "digit_ratio", "punct_end_frac")
CHANGED_TABLE = pa.schema([("idx", pa.uint32())] + [(f, pa.float64()) for f in SIGNALS])


def _remove(batch: list[tuple[int, dict, set[int]]],
            known: dict[int, dict] | None = None) -> list[tuple[int, dict, dict | None]]:
    """(index, original, line-deduped document or None when nothing was removed) for a batch. The
    signals of changed documents are recomputed in one call (dup_line_frac keeps its pre-dedup value),
    unless `known` has them (the signing pass already computed them: `sign_chunk` writes them down)."""
    changed = [(i, d, r) for i, d, r in batch if r]
    texts = [join_lines([ln for n, ln in enumerate(split_lines(d["text"])) if n not in r]) for _, d, r in changed]
    if known is None:
        sigs = [s.as_dict() for s in quality_signals_batch(texts)]
    else:
        sigs = [known[i] for i, _, _ in changed]
    new = {}
    for (i, d, r), text, sig in zip(changed, texts, sigs, strict=True):
        sig = {f: sig[f] for f in SIGNALS}
        new[i] = {**d, **sig, "text": text, "lines_removed": len(r)}
    return [(i, d, new.get(i)) for i, d, _ in batch]


def _write_changed(chunk: Chunk, work_dir: str, rows: list[dict]) -> None:
    """The recomputed signals of the chunk's changed documents, for write_chunk."""
    cols = {"idx": [r["idx"] for r in rows], **{f: [float(r[f]) for r in rows] for f in SIGNALS}}
    fs, fp = filesystem(chunk.changed_path(work_dir))
    with fs.open_output_stream(fp) as f:
        pq.write_table(pa.Table.from_pydict(cols, schema=CHANGED_TABLE), f, compression="none")


def _read_changed(chunk: Chunk, work_dir: str) -> dict[int, dict]:
    fs, fp = filesystem(chunk.changed_path(work_dir))
    with fs.open_input_file(fp) as f:
        t = pq.read_table(f).to_pydict()
    # float64 round-trips the values exactly; the integer signals come back as the same integers
    return {i: {f: (int(t[f][k]) if f in ("n_chars", "n_words", "n_lines") else t[f][k]) for f in SIGNALS}
            for k, i in enumerate(t["idx"])}


def _batches(dec: Decisions, removed: dict[int, set[int]], work_dir: str, size: int = 512,
             columns: list[str] | None = None):
    batch = []
    for item in _deduped(dec, removed, work_dir, columns):
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _too_short(doc: dict, params: MonoParams) -> bool:
    return doc["n_chars"] < params.min_chars_after_dedup or doc["n_words"] < params.min_words_after_dedup


def sign_chunk(dec: Decisions, params: MonoParams, perm, n_ranges: int) -> list:
    """Band parts of the chunk's surviving documents; its signing table is written next to it."""
    p = params.neardup
    idx_all: list[int] = []
    keys_all: list[np.ndarray] = []
    table = {"idx": [], "neg_len": [], "doc_id": [], "payload": []}
    changed: list[dict] = []
    removed = line_removals(dec, params.work_dir)[0] if params.dedup_lines else {}
    for batch in _batches(dec, removed, params.work_dir, columns=["doc_id", "text"]):
        live = [(i, d, r) for i, d, r in batch if r is not None]
        docs = []
        for i, d, new in _remove(live):
            doc = new if new is not None else d
            if new is not None:
                changed.append({"idx": i, **{f: new[f] for f in SIGNALS}})
                if _too_short(new, params):
                    continue
            docs.append((i, doc))
        if not docs:
            continue
        keys, has, payload = sign_texts([d["text"] for _, d in docs], p, perm)
        for row in np.flatnonzero(has).tolist():
            i, d = docs[row]
            idx_all.append(i)
            keys_all.append(keys[row])
            table["idx"].append(i)
            table["neg_len"].append(-len(d["text"]))
            table["doc_id"].append(d["doc_id"])
            table["payload"].append(payload[row])
    fs, fp = filesystem(dec.chunk.sign_path(params.work_dir))
    with fs.open_output_stream(fp) as f:
        pq.write_table(pa.Table.from_pydict(table, schema=SIGN_TABLE), f, compression="none")
    _write_changed(dec.chunk, params.work_dir, changed)
    if not idx_all:
        return []
    return list(band_parts(dec.chunk.chunk_id, np.stack(keys_all), np.asarray(idx_all, dtype=np.uint32), n_ranges))


def load_sign_table(chunk: Chunk, work_dir: str) -> UnitTable:
    fs, fp = filesystem(chunk.sign_path(work_dir))
    with fs.open_input_file(fp) as f:
        t = pq.read_table(f).to_pydict()
    return UnitTable(t["idx"], t["neg_len"], t["doc_id"], t["payload"])


def dedup_unit(chunk: Chunk) -> str:
    return f"{chunk.name}-dedup"


def write_chunk(dec: Decisions, params: MonoParams) -> list[Piece]:
    """The chunk's final documents (one piece per language) and this pass's rejects."""
    stage = params.stage
    docs = PieceWriter(params.work_dir, "documents", dec.chunk.name, DOCUMENTS)
    rejects = PieceWriter(params.work_dir, "rejects", dedup_unit(dec.chunk), REJECTS)
    kept_by_lang: Counter = Counter()
    stats = LangStats()
    removed, lines_read = line_removals(dec, params.work_dir) if params.dedup_lines else ({}, 0)
    signed = params.neardup is not None and params.neardup.enabled  # sign_chunk ran on this chunk
    known = _read_changed(dec.chunk, params.work_dir) if signed else None
    for batch in _batches(dec, removed, params.work_dir):
        for i, d, _ in batch:
            if i in dec.copies:
                rejects.add("exact_duplicate", doc_reject(stage, "DedupDocuments", "exact_duplicate", d,
                                                          f"same text as {dec.copies[i]}"))
        live = [(i, d, r) for i, d, r in batch if r is not None]
        for i, d, new in _remove(live, known):
            if new is not None and _too_short(new, params):
                rejects.add("too_short_after_dedup", doc_reject(
                    stage, "DedupLines", "too_short_after_dedup", d,
                    f"{new['lines_removed']} of {d['n_lines']} lines were copies; {new['n_chars']} chars left"))
                continue
            doc = new if new is not None else {**d, "lines_removed": 0}
            cid, size = dec.members.get(i, (doc["doc_id"], 1))
            doc = {**doc, "dup_cluster_id": cid, "dup_cluster_size": size}
            if cid != doc["doc_id"]:
                rejects.add("near_duplicate", near_dup_reject(stage, doc, cid, size))
                continue
            kept_by_lang[doc["lang"]] += 1
            stats.add(doc)
            docs.add(doc["lang"], doc)
    if params.dedup_lines:
        lines_removed = sum(len(r) for r in removed.values())  # only documents that are not copies
        inc(stage, "lines.read", lines_read)  # every line is kept once, by its first occurrence
        inc(stage, "lines.kept", lines_read - lines_removed)
        if lines_removed:
            inc(stage, "lines.dropped.duplicate", lines_removed)
    if kept_by_lang:
        inc(stage, "docs.kept", sum(kept_by_lang.values()))
        for lang, n in sorted(kept_by_lang.items()):
            inc(stage, f"by_lang.{lang}.kept", n)
    stats.count(stage)
    return docs.close() + rejects.close()


class LangStats:
    """Per-language facts of the kept documents, as counters (the summary reads them, never the rows):
    ``lang_stats.<lang>.score_milli`` (sum of LID scores × 1000), ``.dup_clusters`` (kept documents
    that stand for a near-dup cluster), ``.line_lang_frac_milli`` / ``.line_lang_docs`` (sum × 1000
    and count of line_lang_frac where it was measured)."""

    def __init__(self):
        self.c: Counter = Counter()

    def add(self, doc: dict) -> None:
        lang = doc["lang"]
        self.c[f"{lang}.score_milli"] += round(1000 * float(doc["lang_score"]))
        if (doc.get("dup_cluster_size") or 1) > 1:
            self.c[f"{lang}.dup_clusters"] += 1
        if doc.get("line_lang_frac") is not None:
            self.c[f"{lang}.line_lang_frac_milli"] += round(1000 * float(doc["line_lang_frac"]))
            self.c[f"{lang}.line_lang_docs"] += 1

    def count(self, stage: str) -> None:
        for name, n in sorted(self.c.items()):
            if n:
                inc(stage, f"lang_stats.{name}", n)

