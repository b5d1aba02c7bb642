"""Examples → fixed-size micro-batches of [rows, seq_len] tokens.

Several examples share a row; `doc_ids` (1, 2, … per example, 0 = padding) lets the model build a
block-diagonal attention mask so packed examples never see each other, and positions restart at 0
for every example (and for the target side of a TLM pair, as in XLM). Special tokens are added here:
    mlm / cs / entity:  <s> x </s>
    tlm:                <s> src </s></s> tgt </s>    (positions restart at the second </s>)

Nothing is cut: every example goes into one row whole. check_fits() refuses, at start-up, token data
whose longest example (with its special tokens) exceeds seq_len, naming the stream and both settings;
make_example() raises if one still arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xlmodel.config import SPECIALS_PAIR, SPECIALS_SINGLE
from xlmodel.sampler import PURPOSE_PACK, Sampler, batch_rng
from xlmodel.shards import OBJECTIVE_IDS, DataError, Stream, TokenData, Vocab


class ExampleTooLong(DataError):
    """An example longer than a packed row reached the packer (check_fits should have refused the data)."""


@dataclass
class Example:
    ids: np.ndarray  # int64, with special tokens
    pos: np.ndarray
    lang: np.ndarray  # global language index per token
    maskable: np.ndarray  # False on special tokens
    entity: np.ndarray  # entity number within the example, -1 outside entities
    objective: int


@dataclass
class PackedBatch:
    input_ids: np.ndarray  # [R, T] int64
    position_ids: np.ndarray  # [R, T] int64
    doc_ids: np.ndarray  # [R, T] int32, 0 = padding
    lang_ids: np.ndarray  # [R, T] int32, -1 on padding
    objective_ids: np.ndarray  # [R, T] int8, -1 on padding
    maskable: np.ndarray  # [R, T] bool
    entity_ids: np.ndarray  # [R, T] int32, unique per entity in the batch, -1 elsewhere
    n_examples: int
    example_stream: list[int] = field(default_factory=list)  # stream index of each packed example (-1: none)
    example_tokens: list[int] = field(default_factory=list)  # its length with special tokens

    @property
    def n_tokens(self) -> int:
        return int((self.doc_ids > 0).sum())


def strip_markers(ids: np.ndarray, spans: np.ndarray, markers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop language-marker tokens and move the entity spans onto the remaining tokens (EntityCS)."""
    keep = ~np.isin(ids, markers)
    if keep.all():
        return ids, spans
    before = np.concatenate([[0], np.cumsum(keep)])  # kept tokens before each index
    new = np.stack([before[spans[:, 0]], before[spans[:, 1]]], axis=1) if len(spans) else spans
    return ids[keep], new[new[:, 1] > new[:, 0]] if len(new) else new


def example_length(stream: Stream) -> int:
    """Tokens of the stream's longest example once packed (special tokens included)."""
    return stream.max_tokens + (SPECIALS_PAIR if stream.objective == "tlm" else SPECIALS_SINGLE)


def check_fits(data: TokenData, seq_len: int) -> None:
    """DataError unless every example of every stream fits a row of seq_len tokens whole."""
    too_long = [(example_length(st), f"{st.objective}/{st.key}") for st in data.streams if example_length(st) > seq_len]
    if too_long:
        need, where = max(too_long)
        raise DataError(
            f"{data.root}: examples of up to {need} tokens (with <s> </s>) in {', '.join(w for _, w in sorted(too_long))} "
            f"do not fit train.seq_len {seq_len}: set train.seq_len >= {need}, or re-encode with "
            f"encode.max_tokens <= {seq_len - SPECIALS_SINGLE} and encode.tlm_max_tokens_per_side <= "
            f"{(seq_len - SPECIALS_PAIR) // 2} (nothing is truncated)")


def single_example(ids, spans, lang, objective, vocab) -> Example:
    n = len(ids)
    full = np.empty(n + 2, dtype=np.int64)
    full[0], full[1:-1], full[-1] = vocab.bos, ids, vocab.eos
    maskable = np.ones(n + 2, dtype=bool)
    maskable[[0, -1]] = False
    entity = np.full(n + 2, -1, dtype=np.int32)
    if objective == OBJECTIVE_IDS["entity"]:
        for k, (a, b) in enumerate(spans):
            b = min(int(b), n)
            if int(a) < b:
                entity[1 + int(a):1 + b] = k
    return Example(full, np.arange(n + 2, dtype=np.int64), np.full(n + 2, lang, dtype=np.int32), maskable,
                   entity, objective)


def _pair(src, tgt, lang_src, lang_tgt, vocab) -> Example:
    a, b = len(src) + 2, len(tgt) + 2
    ids = np.concatenate([[vocab.bos], src, [vocab.eos, vocab.eos], tgt, [vocab.eos]]).astype(np.int64)
    pos = np.concatenate([np.arange(a), np.arange(b)]).astype(np.int64)
    lang = np.concatenate([np.full(a, lang_src), np.full(b, lang_tgt)]).astype(np.int32)
    maskable = np.ones(a + b, dtype=bool)
    maskable[[0, a - 1, a, a + b - 1]] = False
    return Example(ids, pos, lang, maskable, np.full(a + b, -1, dtype=np.int32), OBJECTIVE_IDS["tlm"])


def make_example(stream: Stream, row: int, swap: bool, vocab: Vocab, seq_len: int,
                 markers: np.ndarray | None) -> Example:
    ids, seg, spans = stream.example(row)
    objective = OBJECTIVE_IDS[stream.objective]
    if stream.objective == "tlm":
        if seg < 0:
            raise ValueError(f"tlm example {row} of stream {stream.key} has no segment_start")
        src, tgt = ids[:seg], ids[seg:]
        ls, lt = int(stream.lang_ids[row]), int(stream.lang2_ids[row])
        if swap:  # both directions (de→en and en→de), chosen by a seeded coin
            src, tgt, ls, lt = tgt, src, lt, ls
        ex = _pair(src, tgt, ls, lt, vocab)
    else:
        if markers is not None and len(markers):
            ids, spans = strip_markers(ids, spans, markers)
        ex = single_example(ids, spans, int(stream.lang_ids[row]), objective, vocab)
    if len(ex.ids) > seq_len:
        raise ExampleTooLong(f"{stream.objective}/{stream.key} row {row}: {len(ex.ids)} tokens > train.seq_len "
                             f"{seq_len}; the start-up check (packing.check_fits) should have refused this data")
    return ex


class Packer:
    """First-fit packing of examples into `rows` rows of `seq_len` tokens."""

    def __init__(self, rows: int, seq_len: int, pad_id: int):
        self.T = seq_len
        self.fill = np.zeros(rows, dtype=np.int64)
        self.b = PackedBatch(
            input_ids=np.full((rows, seq_len), pad_id, dtype=np.int64),
            position_ids=np.zeros((rows, seq_len), dtype=np.int64),
            doc_ids=np.zeros((rows, seq_len), dtype=np.int32),
            lang_ids=np.full((rows, seq_len), -1, dtype=np.int32),
            objective_ids=np.full((rows, seq_len), -1, dtype=np.int8),
            maskable=np.zeros((rows, seq_len), dtype=bool),
            entity_ids=np.full((rows, seq_len), -1, dtype=np.int32),
            n_examples=0,
        )
        self._next_entity = 0

    def free(self) -> int:
        return int((self.T - self.fill).sum())

    def add(self, ex: Example, stream: int = -1) -> bool:
        n = len(ex.ids)
        fits = np.flatnonzero(self.T - self.fill >= n)
        if not len(fits):
            return False
        r = int(fits[0])
        s = slice(int(self.fill[r]), int(self.fill[r]) + n)
        b = self.b
        b.input_ids[r, s] = ex.ids
        b.position_ids[r, s] = ex.pos
        b.n_examples += 1
        b.doc_ids[r, s] = b.n_examples
        b.lang_ids[r, s] = ex.lang
        b.objective_ids[r, s] = ex.objective
        b.maskable[r, s] = ex.maskable
        if (ex.entity >= 0).any():
            b.entity_ids[r, s] = np.where(ex.entity >= 0, ex.entity + self._next_entity, -1)
            self._next_entity += int(ex.entity.max()) + 1
        self.fill[r] += n
        b.example_stream.append(stream)
        b.example_tokens.append(n)
        return True


def pack_micro_batch(data: TokenData, sampler: Sampler, rows: int, seq_len: int, step: int, global_micro: int,
                     strip: bool = True, max_misses: int = 4) -> PackedBatch:
    """Fill a micro-batch with sampled examples until `max_misses` draws in a row do not fit."""
    rng = batch_rng(sampler.seed, step, global_micro, PURPOSE_PACK)
    packer = Packer(rows, seq_len, data.vocab.pad)
    markers = data.vocab.marker_ids if strip else None
    misses = 0
    while misses < max_misses and packer.free() > 0:
        # Draw in chunks (vectorised); unused draws are simply discarded — still a pure function of the key.
        streams, rows_, swaps = sampler.candidates(rng, max(8, rows * 4), step)
        for s, r, w in zip(streams.tolist(), rows_.tolist(), swaps.tolist(), strict=True):
            ex = make_example(data.streams[s], r, w, data.vocab, seq_len, markers)
            if packer.add(ex, s):
                misses = 0
            else:
                misses += 1
                if misses >= max_misses:
                    break
    return packer.b
