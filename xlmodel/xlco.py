"""XLCO, InfoXLM's cross-lingual contrast (Chi et al., NAACL 2021): InfoNCE over translation pairs.

Each micro-batch carries P pairs from the tlm streams (unmasked, each side a sentence of its own).
A side's vector is its pooled hidden state at `xlco_layer` (InfoXLM found a middle layer best),
L2-normalised. Both directions are trained: side A against B and B against A.

- `queue` (MoCo-style, as InfoXLM): queries come from the model, keys from a momentum copy of it
  (key ← m·key + (1 − m)·model after every optimizer step; eval mode, no gradient). A query's
  positive is its translation's key; its negatives are the other keys of the micro-batch and the
  queue of keys from earlier steps. After the step, every rank's keys are gathered (rank order,
  then micro-batch order) and enqueued, so all ranks hold the same queue and 2 ranks × 1
  micro-batch train exactly like 1 rank × 2.
  (InfoXLM's own criterion starts only once its queue is full; using the batch's keys too lets
  the loss work from step 0.)
- `in_batch`: both sides from the model itself, the batch's other pairs as negatives (no key
  encoder, no queue; nothing to carry between steps).

Loss per query: cross-entropy of (q·k⁺, q·k⁻…) / temperature. The trainer sums it over the step's
queries, divides by their global count and adds it × xlco_weight to the masked loss.
Resume: the key encoder's weights, the queue and its pointer are in the checkpoint.
"""

from __future__ import annotations

import copy

import torch
import torch.distributed as dist
import torch.nn.functional as F

from xlmodel.config import TrainSettings
from xlmodel.model import Encoder


def resolve_layer(layer: int, n_layers: int) -> int:
    """-1 → the middle layer; else the hidden-state index itself (0 = embeddings, n_layers = last)."""
    if layer < 0:
        return (n_layers + 1) // 2
    if layer > n_layers:
        raise ValueError(f"layer {layer} > the model's {n_layers} layers")
    return layer


class Xlco:
    def __init__(self, model: Encoder, s: TrainSettings, device: torch.device):
        self.s = s
        self.layer = resolve_layer(s.xlco_layer, model.config.n_layers)
        self.use_queue = s.xlco_negatives == "queue"
        self.key_encoder: Encoder | None = None
        if self.use_queue:
            self.key_encoder = copy.deepcopy(model).eval()
            for p in self.key_encoder.parameters():
                p.requires_grad_(False)
        d = model.config.d_model
        self.queue = torch.zeros(s.xlco_queue if self.use_queue else 0, d, device=device)
        self.filled = 0  # rows of the queue in use
        self.ptr = 0  # next row to overwrite

    def losses(self, vectors: torch.Tensor, sent, autocast) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(per-query loss [2P], per-query top-1 hit [2P], keys to enqueue [2P, d]) of one micro-batch.
        vectors: the model's pooled vectors of the 2P sentences (A sides, then B sides)."""
        q = F.normalize(vectors.float(), dim=-1)
        P = q.shape[0] // 2
        t = self.s.xlco_temperature
        if not self.use_queue:
            logits = q[:P] @ q[P:].T / t  # [P, P]: A_i against every B_j
            gold = torch.arange(P, device=q.device)
            both = torch.cat([logits, logits.T])  # A→B rows, then B→A rows
            gold2 = torch.cat([gold, gold])
            return F.cross_entropy(both, gold2, reduction="none"), (both.argmax(1) == gold2), q.new_zeros(0, q.shape[1])
        with torch.no_grad(), autocast:
            k = self.key_vectors(sent)
        queued = self.queue[: self.filled]
        rows = []
        for qs, ks in ((q[:P], k[P:]), (q[P:], k[:P])):  # A→B, B→A: the translation's key is the positive
            rows.append(torch.cat([qs @ ks.T, qs @ queued.T], dim=1) / t)  # [P, P + filled]
        logits = torch.cat(rows)
        gold = torch.cat([torch.arange(P, device=q.device)] * 2)
        return F.cross_entropy(logits, gold, reduction="none"), (logits.argmax(1) == gold), k

    @torch.no_grad()
    def key_vectors(self, sent) -> torch.Tensor:
        from xlmodel.model import pooled

        h = self.key_encoder.encode(sent.input_ids, sent.position_ids, sent.doc_ids,
                                    sent.lang_ids if self.key_encoder.lang is not None else None,
                                    n_layers=self.layer, layout=sent.layout)
        return F.normalize(pooled(h, sent.doc_ids, sent.content, sent.n, self.s.xlco_pooling).float(), dim=-1)

    @torch.no_grad()
    def after_step(self, model: Encoder, keys: list[torch.Tensor], world: int) -> None:
        """Momentum update of the key encoder, then enqueue this step's keys of every rank."""
        if not self.use_queue:
            return
        m = self.s.xlco_momentum
        kp = [p for p in self.key_encoder.parameters()]
        qp = [p.detach() for p in model.parameters()]
        torch._foreach_mul_(kp, m)
        torch._foreach_add_(kp, qp, alpha=1.0 - m)
        mine = torch.cat(keys) if keys else self.queue.new_zeros(0, self.queue.shape[1])
        if world > 1:
            parts = [torch.empty_like(mine) for _ in range(world)]
            dist.all_gather(parts, mine.contiguous())
            mine = torch.cat(parts)
        self.enqueue(mine)

    def enqueue(self, keys: torch.Tensor) -> None:
        K = self.queue.shape[0]
        if K == 0:
            return
        keys = keys[-K:]  # more keys than the queue holds: the newest K
        n = keys.shape[0]
        end = self.ptr + n
        if end <= K:
            self.queue[self.ptr:end] = keys
        else:
            first = K - self.ptr
            self.queue[self.ptr:] = keys[:first]
            self.queue[: n - first] = keys[first:]
        self.ptr = end % K
        self.filled = min(K, self.filled + n)

    def state_dict(self) -> dict:
        return {"queue": self.queue.detach().cpu().clone(), "filled": self.filled, "ptr": self.ptr,
                "key_encoder": self.key_encoder.state_dict() if self.key_encoder is not None else None,
                "layer": self.layer}

    def load_state_dict(self, st: dict) -> None:
        self.queue.copy_(st["queue"].to(self.queue.device))
        self.filled, self.ptr = int(st["filled"]), int(st["ptr"])
        if self.key_encoder is not None:
            self.key_encoder.load_state_dict(st["key_encoder"])
