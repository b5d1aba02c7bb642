"""Pass 1 of the mono stage: one input file → its chunks, its first rejects and its document keys.

`stage_file` reads the file once as a stream, in batches: normalize → LID → quality filters. Every
surviving document is written to the file's chunks (pipelines.mono.chunks) together with its line
keys; every dropped record goes to the file's rejects pieces (pipelines.pieces). What leaves the
worker is small: one `Chunk` per chunk written, the rejects pieces, and one (doc key, order) per
document for whole-document dedup.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from pipelines.counters import drop, inc
from pipelines.lid import LanguageIdentifier
from pipelines.mono.chunks import Chunk, ChunkWriter, doc_key, id_halves, line_keys
from pipelines.mono.exact import doc_order
from pipelines.mono.params import MonoParams
from pipelines.mono.read_docs import read_file
from pipelines.mono.read_warc import RawDoc, ReadError, Skipped
from pipelines.mono.steps import apply_quality, doc_reject, identify_batch, normalize_doc, signal_detail
from pipelines.pieces import Piece, PieceWriter
from pipelines.progress import mark_done
from schemas.documents import REJECTS


@dataclass(frozen=True)
class InputFile:
    """One input of the stage: its index in the sorted input list, where to read it, and the name
    its records carry as `source`."""

    index: int
    path: str
    source: str


@dataclass(frozen=True)
class DocKey:
    """Whole-document dedup key of one staged document (travels to the doc-key shuffle)."""

    key: bytes
    order: tuple


def read_unit(f: InputFile) -> str:
    return f"{f.index:06d}-read"


def stage_file(f: InputFile, params: MonoParams, lid: LanguageIdentifier) -> Iterator[Chunk | Piece | DocKey]:
    """Pass 1 over one input file (see module doc). Counters go to params.stage."""
    stage = params.stage
    chunks = ChunkWriter(params.work_dir, f.index, params.chunk_bytes)
    rejects = PieceWriter(params.work_dir, "rejects", read_unit(f), REJECTS)
    skipped: Counter = Counter()
    n_read = 0
    batch: list[RawDoc] = []

    def flush() -> Iterator[Chunk | DocKey]:
        for doc in _score_batch(batch, params, lid, rejects):
            keys, nums = line_keys(doc["text"])
            chunk_id, idx = chunks.add(doc, keys, nums)
            if params.dedup_docs:
                yield DocKey(doc_key(keys), doc_order(*id_halves(doc["doc_id"]), f.index, doc.get("source_offset") or 0,
                                                       chunk_id, idx))
            if chunks.full():
                chunk = chunks.close()
                if chunk is not None:
                    yield chunk
        batch.clear()

    for item in read_file(f.path, params.html_main_content, params.text_field, max_doc_chars=params.max_doc_chars,
                          source=f.source):
        if isinstance(item, Skipped):
            skipped[item.rec_type] += 1
            continue
        n_read += 1
        if isinstance(item, ReadError):
            rejects.add(item.reason, drop(stage, "docs", "ReadWarc", item.reason, source=item.source,
                                          offset=item.offset, sample=item.sample,
                                          detail=item.detail + (f" (url {item.url})" if item.url else "")))
            continue
        batch.append(item)
        if len(batch) >= params.batch_size:
            yield from flush()
    yield from flush()
    last = chunks.close()
    if last is not None:
        yield last
    yield from rejects.close()
    inc(stage, "docs.read", n_read)  # once per file: a counter update per record costs µs
    for rec_type, n in sorted(skipped.items()):
        inc(stage, f"warc.skipped.{rec_type}", n)
    mark_done(params.progress_dir, f.path, n_read)  # live progress: the driver polls these records


def _score_batch(raws: list[RawDoc], params: MonoParams, lid: LanguageIdentifier,
                 rejects: PieceWriter) -> list[dict]:
    """Normalize → LID → quality over one batch: the surviving documents; rejects written."""
    stage = params.stage
    docs = []
    for raw in raws:
        doc = normalize_doc(raw)
        if doc is None:
            rejects.add("empty_text", drop(
                stage, "docs", "Normalize", "empty_text", source=raw.source, offset=raw.offset,
                detail="no text left after extraction and normalization" + (f" (url {raw.url})" if raw.url else ""),
                sample=raw.text[:200] or None))
            continue
        docs.append(doc)
    if not docs:
        return []
    inc(stage, "input.text_bytes", sum(len(d["text"].encode("utf-8", "surrogatepass")) for d in docs))
    kept, lid_rejects = identify_batch(lid, docs, params.lid, stage)
    for r in lid_rejects:
        rejects.add(r["reason"], r)
    out = []
    for doc, reason in apply_quality(kept, params.quality) if kept else []:
        if reason is not None:
            rejects.add(reason, doc_reject(stage, "QualitySignals", reason, doc, signal_detail(doc)))
            continue
        out.append(doc)
    return out
