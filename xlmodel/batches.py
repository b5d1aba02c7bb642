"""Packed + masked micro-batches as torch tensors, ready for the model.

A micro-batch is a pure function of (seed, step, g), g = rank * grad_accum + micro: which examples
(sampler), how they are masked (masking, at the step's mask rate), the XLCO translation pairs, and
the dropout seed. So a resumed run, or the same global batch split over more ranks, sees the same
tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from xlmodel.config import TrainSettings
from xlmodel.masking import IGNORE, mask_batch
from xlmodel.model import Unpadded
from xlmodel.packing import Example, PackedBatch, Packer, pack_micro_batch, single_example
from xlmodel.sampler import PURPOSE_DROPOUT, PURPOSE_MASK, PURPOSE_XLCO, Sampler, batch_rng, torch_seed
from xlmodel.schedule import mask_rate_at
from xlmodel.shards import OBJECTIVE_IDS, TokenData


@dataclass
class Sentences:
    """Single sentences packed into rows for pooling (XLCO, retrieval): sentence i has doc id i + 1."""
    input_ids: torch.Tensor  # [R, T]
    position_ids: torch.Tensor
    doc_ids: torch.Tensor
    lang_ids: torch.Tensor
    content: torch.Tensor  # [R, T] bool: not a special token, not padding
    n: int
    n_tokens: int
    layout: Unpadded | None = None

    def to(self, device: torch.device) -> Sentences:
        return _move(self, device)


@dataclass
class MicroBatch:
    input_ids: torch.Tensor  # [R, T] (masked)
    position_ids: torch.Tensor
    doc_ids: torch.Tensor
    lang_ids: torch.Tensor
    pred_index: torch.Tensor  # [N] into the flattened [R*T] positions
    labels: torch.Tensor  # [N]
    pred_objective: torch.Tensor  # [N] objective id of each predicted token
    pred_lang: torch.Tensor  # [N] language index of each predicted token
    n_tokens: int  # non-padding tokens
    n_examples: int
    sq_tokens: int = 0  # Σ example length² (attention work of the unpadded layouts, for MFU)
    stream_examples: np.ndarray | None = None  # [2S] examples per stream: masked streams, then XLCO (tlm) ones
    stream_tokens: np.ndarray | None = None  # [2S] tokens (with specials) per stream, same layout
    layout: Unpadded | None = None  # the unpadded layout (attention nested / varlen), built with the batch
    xlco: Sentences | None = None  # 2P sentences: side A of the P pairs, then side B, in pair order
    dropout_seed: int = 0

    def to(self, device: torch.device) -> MicroBatch:
        return _move(self, device)


def _move(obj, device: torch.device):
    if device.type == "cpu":
        return obj

    def mv(v):
        if isinstance(v, torch.Tensor):
            return v.pin_memory().to(device, non_blocking=True)
        if isinstance(v, Unpadded):
            return Unpadded(mv(v.index), mv(v.offsets), v.max_len)
        if isinstance(v, Sentences):
            return v.to(device)
        return v

    return type(obj)(**{k: mv(v) for k, v in obj.__dict__.items()})


def numpy_layout(doc_ids: np.ndarray) -> Unpadded:
    """model.unpadded_layout in numpy, on the batch-building thread: no device sync in the step."""
    flat = doc_ids.reshape(-1)
    index = np.flatnonzero(flat > 0)
    d = flat[index]
    starts = np.ones(len(d), dtype=bool)
    starts[1:] = d[1:] != d[:-1]
    offsets = np.concatenate([np.flatnonzero(starts), [len(d)]]).astype(np.int64)
    max_len = int(np.diff(offsets).max()) if len(offsets) > 1 else 0
    return Unpadded(torch.from_numpy(index.astype(np.int64)), torch.from_numpy(offsets), max_len)


def to_micro_batch(b: PackedBatch, masked: np.ndarray, labels: np.ndarray, n_streams: int = 0,
                   unpadded: bool = False) -> MicroBatch:
    flat = labels.reshape(-1)
    pred = np.flatnonzero(flat != IGNORE)
    ex = tok = None
    if n_streams:
        where = np.asarray(b.example_stream, dtype=np.int64)
        ex = np.bincount(where, minlength=2 * n_streams).astype(np.int64)
        tok = np.bincount(where, weights=np.asarray(b.example_tokens, dtype=np.float64),
                          minlength=2 * n_streams).astype(np.int64)
    return MicroBatch(
        input_ids=torch.from_numpy(masked),
        position_ids=torch.from_numpy(b.position_ids),
        doc_ids=torch.from_numpy(b.doc_ids),
        lang_ids=torch.from_numpy(b.lang_ids),
        pred_index=torch.from_numpy(pred),
        labels=torch.from_numpy(flat[pred]),
        pred_objective=torch.from_numpy(b.objective_ids.reshape(-1)[pred].astype(np.int64)),
        pred_lang=torch.from_numpy(b.lang_ids.reshape(-1)[pred].astype(np.int64)),
        n_tokens=b.n_tokens,
        n_examples=b.n_examples,
        sq_tokens=int(np.square(np.asarray(b.example_tokens, dtype=np.int64)).sum()),
        stream_examples=ex,
        stream_tokens=tok,
        layout=numpy_layout(b.doc_ids) if unpadded else None,
    )


def pack_all(examples: list[Example], seq_len: int, pad_id: int) -> PackedBatch:
    """Every example, in order, first-fit into as many rows as needed (doc id i + 1 = examples[i])."""
    packer = Packer(max(1, len(examples)), seq_len, pad_id)
    for i, ex in enumerate(examples):
        if not packer.add(ex):
            raise ValueError(f"sentence {i} of {len(ex.ids)} tokens does not fit seq_len {seq_len}")
    b, used = packer.b, max(1, int((packer.fill > 0).sum()))  # first-fit fills rows in order
    for name in ("input_ids", "position_ids", "doc_ids", "lang_ids", "objective_ids", "maskable", "entity_ids"):
        setattr(b, name, getattr(b, name)[:used])
    return b


def to_sentences(b: PackedBatch, unpadded: bool = False) -> Sentences:
    return Sentences(torch.from_numpy(b.input_ids), torch.from_numpy(b.position_ids), torch.from_numpy(b.doc_ids),
                     torch.from_numpy(b.lang_ids), torch.from_numpy(b.maskable), b.n_examples, b.n_tokens,
                     numpy_layout(b.doc_ids) if unpadded else None)


def mask_with(b: PackedBatch, rng: np.random.Generator, s: TrainSettings, mask_id: int,
              replacement_ids: np.ndarray, mask_rate: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """mask_batch with the run's masking settings (training and held-out eval mask alike)."""
    return mask_batch(b, rng, mask_id=mask_id, replacement_ids=replacement_ids,
                      mask_rate=s.mask_rate if mask_rate is None else mask_rate,
                      mask_frac=s.mask_token_frac, random_frac=s.random_token_frac,
                      entity_masking=s.entity_masking, entity_prob=s.entity_prob)


def pair_sides(data: TokenData, stream: int, row: int) -> tuple[tuple[np.ndarray, int], tuple[np.ndarray, int]]:
    """((source ids, language index), (target ids, language index)) of one tlm row."""
    st = data.streams[stream]
    ids, seg, _ = st.example(row)
    return (ids[:seg], int(st.lang_ids[row])), (ids[seg:], int(st.lang2_ids[row]))


class BatchMaker:
    """micro_batch(step, g) is a pure function of (seed, step, g): g = rank * grad_accum + micro."""

    def __init__(self, data: TokenData, s: TrainSettings, unpadded: bool = False):
        self.data, self.s, self.unpadded = data, s, unpadded
        self.sampler = Sampler(data, s)
        self.xlco_sampler = Sampler(data, s, objectives={"tlm"}) if s.xlco_weight > 0 else None
        self.replacement = data.vocab.replacement_ids()
        self.n_streams = len(data.streams)

    def mask(self, b: PackedBatch, rng: np.random.Generator, mask_rate: float) -> tuple[np.ndarray, np.ndarray]:
        return mask_with(b, rng, self.s, self.data.vocab.mask, self.replacement, mask_rate)

    def xlco_sentences(self, step: int, global_micro: int) -> tuple[Sentences, np.ndarray, np.ndarray]:
        """P translation pairs as 2P sentences (all A sides, then all B sides), with per-stream counts."""
        s, data = self.s, self.data
        streams, rows, _ = self.xlco_sampler.candidates(batch_rng(s.seed, step, global_micro, PURPOSE_XLCO),
                                                        s.xlco_pairs, step)
        sides_a, sides_b = [], []
        for k, r in zip(streams.tolist(), rows.tolist(), strict=True):
            (a, la), (b, lb) = pair_sides(data, k, r)
            sides_a.append(single_example(a, None, la, OBJECTIVE_IDS["tlm"], data.vocab))
            sides_b.append(single_example(b, None, lb, OBJECTIVE_IDS["tlm"], data.vocab))
        packed = pack_all(sides_a + sides_b, s.seq_len, data.vocab.pad)
        where = streams + self.n_streams  # XLCO counters sit after the masked streams'
        ex = np.bincount(where, minlength=2 * self.n_streams).astype(np.int64)
        lengths = np.array([len(x.ids) + len(y.ids) for x, y in zip(sides_a, sides_b, strict=True)], dtype=np.float64)
        tok = np.bincount(where, weights=lengths, minlength=2 * self.n_streams).astype(np.int64)
        return to_sentences(packed, self.unpadded), ex, tok

    def micro_batch(self, step: int, global_micro: int) -> MicroBatch:
        s = self.s
        packed = pack_micro_batch(self.data, self.sampler, s.batch_rows, s.seq_len, step, global_micro,
                                  strip=s.strip_markers)
        masked, labels = self.mask(packed, batch_rng(s.seed, step, global_micro, PURPOSE_MASK), mask_rate_at(s, step))
        mb = to_micro_batch(packed, masked, labels, self.n_streams, self.unpadded)
        if self.xlco_sampler is not None:
            mb.xlco, ex, tok = self.xlco_sentences(step, global_micro)
            mb.stream_examples += ex
            mb.stream_tokens += tok
        mb.dropout_seed = torch_seed(s.seed, step, global_micro, PURPOSE_DROPOUT)
        return mb

    def step_batches(self, step: int, rank: int) -> list[MicroBatch]:
        a = self.s.grad_accum
        return [self.micro_batch(step, rank * a + m) for m in range(a)]
