"""Batch-level masking in numpy: which tokens are predicted and what the model sees there.

mlm, tlm and cs tokens: standard MLM — each maskable token predicted with `mask_rate` (which a
mask-rate schedule may change with the step, xlmodel.schedule); of those
80% → <mask>, 10% → a random token, 10% unchanged (fractions configurable).
entity tokens, EntityCS (Whitehouse et al. 2022) — each entity chosen with `entity_prob`:
    wep      whole entity: 80% of chosen entities fully <mask>ed, 20% kept; loss on all its subwords
    pep_mrs  per subword of a chosen entity: 80% <mask> / 10% random / 10% same; loss on all
    pep_ms   per subword: 80% <mask> / 20% same; loss on all
    pep_m    per subword: 80% <mask>, else same; loss only on the masked subwords
    "+mlm"   the above plus standard MLM on the non-entity tokens of entity examples
Without "+mlm" only entity subwords of entity examples are predicted.
"""

from __future__ import annotations

import numpy as np

from xlmodel.packing import PackedBatch
from xlmodel.shards import OBJECTIVE_IDS

IGNORE = -100


def mask_batch(b: PackedBatch, rng: np.random.Generator, *, mask_id: int, replacement_ids: np.ndarray,
               mask_rate: float = 0.15, mask_frac: float = 0.8, random_frac: float = 0.1,
               entity_masking: str = "pep_mrs+mlm", entity_prob: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Return (masked input_ids, labels) with labels = IGNORE where nothing is predicted."""
    ids = b.input_ids
    shape = ids.shape
    u_pick, u_how = rng.random(shape), rng.random(shape)  # drawn for every position: layout-independent
    is_entity_obj = b.objective_ids == OBJECTIVE_IDS["entity"]
    scheme, plus_mlm = entity_masking.partition("+")[0], entity_masking.endswith("+mlm")

    # Standard MLM on every non-entity-objective token (and on entity examples' other tokens with +mlm).
    mlm_scope = b.maskable & (~is_entity_obj | (plus_mlm & (b.entity_ids < 0)))
    predict = mlm_scope & (u_pick < mask_rate)
    to_mask = predict & (u_how < mask_frac)
    to_random = predict & (u_how >= mask_frac) & (u_how < mask_frac + random_frac)

    ent = np.where(is_entity_obj & b.maskable, b.entity_ids, -1)
    n_ent = int(ent.max()) + 1 if ent.size else 0
    if n_ent:
        chosen_e = rng.random(n_ent) < entity_prob
        whole_mask_e = rng.random(n_ent) < 0.8  # WEP: one decision per entity
        in_chosen = (ent >= 0) & chosen_e[np.maximum(ent, 0)]
        if scheme == "wep":
            e_mask, e_random, e_predict = in_chosen & whole_mask_e[np.maximum(ent, 0)], None, in_chosen
        elif scheme == "pep_mrs":
            e_mask = in_chosen & (u_how < 0.8)
            e_random = in_chosen & (u_how >= 0.8) & (u_how < 0.9)
            e_predict = in_chosen
        elif scheme == "pep_ms":
            e_mask, e_random, e_predict = in_chosen & (u_how < 0.8), None, in_chosen
        elif scheme == "pep_m":
            e_mask = in_chosen & (u_how < 0.8)
            e_random, e_predict = None, e_mask
        else:
            raise ValueError(f"unknown entity masking scheme {entity_masking!r}")
        predict |= e_predict
        to_mask |= e_mask
        if e_random is not None:
            to_random |= e_random

    out = ids.copy()
    out[to_mask] = mask_id
    n_random = int(to_random.sum())
    if n_random:
        out[to_random] = replacement_ids[rng.integers(0, len(replacement_ids), n_random)]
    labels = np.where(predict, ids, IGNORE)
    return out, labels
