"""Which examples a micro-batch holds: a pure function of (seed, step, global micro-batch index).

Global micro-batch index g = rank * grad_accum + micro, so 2 ranks × 1 micro-batch draw exactly what
1 rank × 2 micro-batches draws: the global batch does not depend on how it is split. Nothing is
carried from step to step, so a resumed run needs only the step number (no replay, no iterator state).

Streams are drawn with replacement, with probability objective_weight × p_smoothed (the encode
stage's exponentially smoothed language distribution, renormalised within each objective).
"""

from __future__ import annotations

import numpy as np

from xlmodel.shards import TokenData

# Separate random streams per purpose, so changing the masking never changes which examples are drawn.
PURPOSE_PACK, PURPOSE_MASK = 0, 1


def batch_rng(seed: int, step: int, global_micro: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([seed, step, global_micro, purpose])


def stream_weights(data: TokenData, objective_weights: dict[str, float]) -> np.ndarray:
    """Probability of each stream: objective weight × its smoothed share within the objective."""
    w = np.zeros(len(data.streams))
    for objective in {s.objective for s in data.streams}:
        idx = [i for i, s in enumerate(data.streams) if s.objective == objective and len(s.train_rows)]
        share = np.array([max(data.streams[i].p_smoothed, 0.0) for i in idx])
        if not idx or share.sum() <= 0:
            continue
        w[idx] = objective_weights.get(objective, 0.0) * share / share.sum()
    if w.sum() <= 0:
        raise ValueError("every stream has weight 0: check train.objective_weights against the objectives present")
    return w / w.sum()


class Sampler:
    """Draws (stream, row, swap) candidates for one micro-batch."""

    def __init__(self, data: TokenData, objective_weights: dict[str, float], seed: int):
        self.data = data
        self.seed = seed
        self.weights = stream_weights(data, objective_weights)
        self._cdf = np.cumsum(self.weights)
        self._n_train = np.array([len(s.train_rows) for s in data.streams])

    def candidates(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """n draws: stream index, row (into the stream's table), and a TLM direction coin."""
        stream = np.minimum(np.searchsorted(self._cdf, rng.random(n) * self._cdf[-1], side="right"),
                            len(self._cdf) - 1)
        pos = (rng.random(n) * self._n_train[stream]).astype(np.int64)
        rows = np.array([self.data.streams[s].train_rows[p] for s, p in zip(stream, pos, strict=True)],
                        dtype=np.int64)
        swap = rng.random(n) < 0.5
        return stream, rows, swap

    def state_dict(self) -> dict:
        # The order is a function of (seed, step); the weights are recorded to detect a changed corpus.
        return {"seed": self.seed, "weights": self.weights.tolist(),
                "streams": [f"{s.objective}/{s.key}" for s in self.data.streams]}
