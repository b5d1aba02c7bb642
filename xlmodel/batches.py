"""Packed + masked micro-batches as torch tensors, ready for the model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from xlmodel.config import TrainSettings
from xlmodel.masking import IGNORE, mask_batch
from xlmodel.packing import PackedBatch, pack_micro_batch
from xlmodel.sampler import PURPOSE_MASK, Sampler, batch_rng
from xlmodel.shards import TokenData


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

    def to(self, device: torch.device) -> MicroBatch:
        if device.type == "cpu":
            return self
        moved = {k: (v.pin_memory().to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v)
                 for k, v in self.__dict__.items()}
        return MicroBatch(**moved)


def to_micro_batch(b: PackedBatch, masked: np.ndarray, labels: np.ndarray) -> MicroBatch:
    flat = labels.reshape(-1)
    pred = np.flatnonzero(flat != IGNORE)
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
    )


def mask_with(b: PackedBatch, rng: np.random.Generator, s: TrainSettings, mask_id: int,
              replacement_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mask_batch with the run's masking settings (training and held-out eval mask alike)."""
    return mask_batch(b, rng, mask_id=mask_id, replacement_ids=replacement_ids, mask_rate=s.mask_rate,
                      mask_frac=s.mask_token_frac, random_frac=s.random_token_frac,
                      entity_masking=s.entity_masking, entity_prob=s.entity_prob)


class BatchMaker:
    """micro_batch(step, g) is a pure function of (seed, step, g): g = rank * grad_accum + micro."""

    def __init__(self, data: TokenData, s: TrainSettings):
        self.data, self.s = data, s
        self.sampler = Sampler(data, s.objective_weights, s.seed)
        self.replacement = data.vocab.replacement_ids()

    def mask(self, b: PackedBatch, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return mask_with(b, rng, self.s, self.data.vocab.mask, self.replacement)

    def micro_batch(self, step: int, global_micro: int) -> MicroBatch:
        s = self.s
        packed = pack_micro_batch(self.data, self.sampler, s.batch_rows, s.seq_len, step, global_micro,
                                  strip=s.strip_markers)
        masked, labels = self.mask(packed, batch_rng(s.seed, step, global_micro, PURPOSE_MASK))
        return to_micro_batch(packed, masked, labels)

    def step_batches(self, step: int, rank: int) -> list[MicroBatch]:
        a = self.s.grad_accum
        return [self.micro_batch(step, rank * a + m) for m in range(a)]
