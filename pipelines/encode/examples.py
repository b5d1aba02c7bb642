"""Per-record encoding: documents, pairs and code-switched samples → TOKENS examples.

Documents (by far the largest product) are encoded a batch at a time, column by column: every
line of every document in one SentencePiece call into one flat id array, then blocks as ranges of
it (document_blocks). Pairs and code-switched samples have a *plan* (the texts to encode, each
with or without SentencePiece's dummy prefix) and a *finish* (token ids → examples, or a drop
reason), so a DoFn can encode a batch of records in two SentencePiece calls. Plain functions:
testable without Beam.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sentencepiece as spm

from pipelines.encode.blocks import PieceTables, boundary_ranks, split_blocks
from pipelines.tokenizer.proto import with_dummy_prefix
from pipelines.tokenizer.sources import lines_of
from schemas.tokens import parent_hash

Piece = tuple[str, bool]  # (text, encode with the dummy '▁' prefix)


class Encoder:
    """Two views of one model: with the dummy prefix (normal) and without it (text glued to what
    precedes it, e.g. an entity followed by a comma, or CJK), plus per-id boundary tables."""

    def __init__(self, model_bytes: bytes, threads: int = 1):
        self.model_bytes = model_bytes
        self.sp = spm.SentencePieceProcessor(model_proto=model_bytes)
        self.threads = threads
        self.tables = PieceTables([self.sp.id_to_piece(i) for i in range(self.sp.get_piece_size())])
        self._check_encode_flat()

    @functools.cached_property
    def sp_glued(self) -> spm.SentencePieceProcessor:
        """Built on first use: rewriting the model proto costs more than an mlm-only worker needs."""
        return spm.SentencePieceProcessor(model_proto=with_dummy_prefix(self.model_bytes, False))

    def encode(self, pieces: list[Piece]) -> list[np.ndarray]:
        """int32 ids of each piece, in order; one batched call per view."""
        out: list[np.ndarray | None] = [None] * len(pieces)
        for prefix, sp in ((True, self.sp), (False, self.sp_glued)):
            idx = [i for i, (_, p) in enumerate(pieces) if p is prefix]
            if idx:
                encoded = sp.encode([pieces[i][0] for i in idx], return_type="numpy", num_threads=self.threads)
                for i, ids in zip(idx, encoded, strict=True):
                    out[i] = ids
        return out  # type: ignore[return-value]

    def encode_flat(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(flat int32 ids of all texts, offsets: text i is flat[offsets[i]:offsets[i + 1]]), with the
        dummy prefix, as sp.encode(text) gives them. One SentencePiece call for the whole list.

        Why not sp.encode(texts, return_type="numpy"): it wraps every text's C++ id buffer in its own
        numpy array (np.frombuffer through pybind's buffer protocol), which for short lines costs
        about a fifth of the encoding itself. This calls the C++ batch method that public call
        dispatches to (sentencepiece 0.2.3, pinned; same positional arguments as it passes) and
        joins the buffers once. _check_encode_flat() compares it with sp.encode at start-up, so a
        changed internal API fails loudly instead of giving other ids."""
        if not texts:
            return np.empty(0, dtype=np.int32), np.zeros(1, dtype=np.int64)
        # (texts, num_threads, thread_pool, enable_sampling, nbest_size, alpha, add_bos, add_eos, reverse)
        buffers = self.sp._processor._EncodeAsBufferBatch(texts, self.threads, None, False, -1, 0.0, False, False,
                                                          False)
        views = list(map(memoryview, buffers))  # int32 views: len() is the number of ids
        offsets = np.zeros(len(views) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, views), dtype=np.int64, count=len(views)), out=offsets[1:])
        return np.frombuffer(b"".join(views), dtype=np.int32), offsets

    def _check_encode_flat(self) -> None:
        probe = ["Hello, world.", "", "北京 2024 — déjà vu!", "  spaced   out  "]
        flat, offsets = self.encode_flat(probe)
        got = [flat[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
        want = [self.sp.encode(text) for text in probe]
        if got != want:
            raise RuntimeError(f"sentencepiece {spm.__version__}: its batch buffer API no longer matches "
                               f"sp.encode ({got} != {want}); pipelines.encode.examples.Encoder.encode_flat "
                               "needs updating for this version")


@dataclass
class Dropped:
    reason: str
    detail: str = ""


def example(example_id: str, parent_id: str, objective: str, lang: str, ids: np.ndarray,
            lang2: str | None = None, segment_start: int = -1, spans: list[dict] | None = None) -> dict:
    """A TOKENS record; input_ids stays an int32 array (pipelines.encode.write turns it into Arrow)."""
    return {"example_id": example_id, "parent_id": parent_id, "parent_hash": parent_hash(parent_id),
            "objective": objective, "lang": lang, "lang2": lang2, "input_ids": ids,
            "segment_start": segment_start, "entity_spans": spans, "n_tokens": len(ids)}


# --- mlm: documents -----------------------------------------------------------------------------

# A document's non-empty stripped lines (the tokenizer sample's unit too), each encoded on its own:
# SentencePiece never joins pieces across whitespace, so the concatenation equals encoding the
# lines joined by spaces.
document_lines = lines_of


@dataclass
class DocumentBlocks:
    """The mlm blocks of a batch of documents, as ranges of the batch's flat token array, in
    document order; block k of document d is example f"{doc_id}-{k:05d}"."""
    doc: np.ndarray    # index of the block's document in the batch
    index: np.ndarray  # k: the block's number within its document
    start: np.ndarray  # [start, end) in the flat array
    end: np.ndarray


def document_blocks(flat: np.ndarray, line_offsets: np.ndarray, doc_lines: np.ndarray, tables: PieceTables,
                    max_tokens: int) -> DocumentBlocks:
    """Split every document of a batch into blocks of at most max_tokens.

    flat: token ids of all lines of all documents, in order; line_offsets[i]: where line i starts
    in flat (n_lines + 1 entries); doc_lines[d]: document d's first line (n_docs + 1 entries).
    A document without tokens gets no block. Documents that fit are one block each (vectorised,
    most of them); only longer ones go through the boundary search, one at a time."""
    doc_tok = line_offsets[doc_lines]
    lengths = np.diff(doc_tok)
    fits = (lengths > 0) & (lengths <= max_tokens)
    docs, starts, ends = [np.flatnonzero(fits)], [doc_tok[:-1][fits]], [doc_tok[1:][fits]]
    too_long = np.flatnonzero(lengths > max_tokens).tolist()
    if too_long:
        # Cut ranks of the whole batch at once. A document starts and ends at a line start (rank 0),
        # so rank[a:b + 1] is exactly boundary_ranks of document flat[a:b] alone.
        rank = boundary_ranks(flat, line_offsets[:-1], tables)
    for d in too_long:
        a, b = int(doc_tok[d]), int(doc_tok[d + 1])
        cuts = np.asarray(split_blocks(rank[a:b + 1], max_tokens), dtype=np.int64)
        docs.append(np.full(len(cuts), d, dtype=np.int64))
        starts.append(cuts[:, 0] + a)
        ends.append(cuts[:, 1] + a)
    doc, start, end = (np.concatenate(x).astype(np.int64, copy=False) for x in (docs, starts, ends))
    order = np.argsort(start, kind="stable")  # blocks are disjoint: start order is document order
    doc, start, end = doc[order], start[order], end[order]
    index = np.arange(len(doc)) - np.searchsorted(doc, doc, side="left")
    return DocumentBlocks(doc, index, start, end)


# --- tlm: pairs ---------------------------------------------------------------------------------

def plan_pair(pair: dict) -> list[Piece]:
    return [(pair.get("src_text") or "", True), (pair.get("tgt_text") or "", True)]


def finish_pair(pair: dict, ids: list[np.ndarray], max_per_side: int) -> dict | Dropped:
    src, tgt = ids
    if not len(src) or not len(tgt):
        return Dropped("empty")
    if len(src) > max_per_side or len(tgt) > max_per_side:
        return Dropped("too_long", f"{len(src)}/{len(tgt)} tokens > {max_per_side} per side")
    return example(pair["pair_id"], pair["pair_id"], "tlm", pair["src_lang"], np.concatenate([src, tgt]),
                   lang2=pair["tgt_lang"], segment_start=len(src))


# --- cs / entity: code-switched samples with char spans -----------------------------------------

def check_spans(text: str, spans: list[dict]) -> str | None:
    """None if the spans are usable (in range, non-empty, sorted, non-overlapping), else why not."""
    prev = 0
    for s in spans:
        a, b = s["start"], s["end"]
        if a is None or b is None or not (prev <= a < b <= len(text)):
            return f"span [{a}, {b}) out of order or outside the text ({len(text)} chars)"
        if not text[a:b].strip():
            return f"span [{a}, {b}) is blank"
        prev = b
    return None


def plan_spans(text: str, spans: list[dict]) -> list[Piece]:
    """Text cut at every span boundary: gap, span, gap, span, …, gap. A piece gets the dummy '▁'
    prefix only where the original has whitespace before it (or it starts the text), so each
    piece tokenizes as in context and the span's tokens decode to exactly its text."""
    cuts = [0] + [x for s in spans for x in (s["start"], s["end"])] + [len(text)]
    pieces = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        seg = text[a:b]
        glued = a > 0 and not text[a - 1].isspace() and not seg[:1].isspace()
        pieces.append((seg, not glued))
    return pieces


def finish_spans(cs_id: str, parent_id: str, objective: str, lang: str, ids: list[np.ndarray],
                 max_tokens: int) -> dict | Dropped:
    """ids of gap, span, gap, … → one example whose entity_spans are the spans' token ranges.
    A sample longer than max_tokens is dropped (too_long), never cut: a cut could split a span."""
    lengths = [len(x) for x in ids]
    offsets = np.cumsum([0] + lengths).tolist()
    spans = [{"start": offsets[k], "end": offsets[k + 1]} for k in range(1, len(ids), 2)]
    if any(s["start"] == s["end"] for s in spans):
        return Dropped("empty_span")
    all_ids = np.concatenate(ids) if ids else np.empty(0, dtype=np.int32)
    if not len(all_ids):
        return Dropped("empty")
    if len(all_ids) > max_tokens:
        return Dropped("too_long", f"{len(all_ids)} tokens > encode.max_tokens {max_tokens}")
    return example(cs_id, parent_id, objective, lang, all_ids, spans=spans)


def sample_lang(sample: dict, objective: str) -> str:
    """Stream language of a code-switched sample. cs: its matrix language. entity: the language the
    entities were switched to (EntityCS batches are per target language), else the matrix one."""
    if objective == "entity":
        switched = {s.get("lang") for s in sample.get("spans") or []} - {None, sample["matrix_lang"]}
        if len(switched) == 1:
            return switched.pop()
    return sample["matrix_lang"]


def plan_sample(sample: dict) -> list[Piece] | Dropped:
    text, spans = sample.get("text") or "", sorted(sample.get("spans") or [], key=lambda s: (s["start"], s["end"]))
    problem = check_spans(text, spans)
    if problem:
        return Dropped("bad_span", problem)
    return plan_spans(text, spans)
