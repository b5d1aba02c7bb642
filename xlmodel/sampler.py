"""Which examples a micro-batch holds: a pure function of (seed, step, global micro-batch index).

Global micro-batch index g = rank * grad_accum + micro, so 2 ranks × 1 micro-batch draw exactly what
1 rank × 2 micro-batches draws: the global batch does not depend on how it is split. Nothing is
carried from step to step, so a resumed run needs only the step number (no replay, no iterator state).

Streams are drawn with replacement, with probability objective_weight × the stream's share within its
objective: sampling.json's p_smoothed, or — with an alpha schedule — tokens^α recomputed at the step
(xlmodel.schedule), over the streams whose languages have been introduced by then.
"""

from __future__ import annotations

import numpy as np

from xlmodel.config import TrainSettings
from xlmodel.schedule import alpha_at, languages_at, phase_boundaries
from xlmodel.shards import DataError, TokenData

# Separate random streams per purpose, so changing the masking never changes which examples are drawn.
PURPOSE_PACK, PURPOSE_MASK, PURPOSE_XLCO, PURPOSE_DROPOUT = 0, 1, 2, 3


def batch_rng(seed: int, step: int, global_micro: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([seed, step, global_micro, purpose])


def torch_seed(seed: int, step: int, global_micro: int, purpose: int) -> int:
    """A 63-bit torch seed from the same key (torch.manual_seed takes one integer)."""
    return int(np.random.SeedSequence([seed, step, global_micro, purpose]).generate_state(2, np.uint32)
               .astype(np.uint64).dot(np.array([1 << 31, 1], dtype=np.uint64)))


def stream_active(key: str, languages: frozenset[str] | None) -> bool:
    return languages is None or set(key.split("-")) <= languages


def stream_weights(data: TokenData, objective_weights: dict[str, float], alpha: float | None = None,
                   languages: frozenset[str] | None = None, objectives: set[str] | None = None) -> np.ndarray:
    """Probability of each stream: objective weight × its share within the objective.

    share = p_smoothed from sampling.json (alpha None), else tokens^alpha over the objective's active
    streams. Only streams with training rows and introduced languages take part."""
    w = np.zeros(len(data.streams))
    for objective in {s.objective for s in data.streams}:
        if objectives is not None and objective not in objectives:
            continue
        idx = [i for i, s in enumerate(data.streams) if s.objective == objective and len(s.train_rows)
               and stream_active(s.key, languages)]
        if not idx:
            continue
        if alpha is None:
            share = np.array([max(data.streams[i].p_smoothed, 0.0) for i in idx])
        else:
            share = np.array([float(data.streams[i].tokens) for i in idx]) ** alpha
        if share.sum() <= 0:
            continue
        weight = 1.0 if objectives is not None else objective_weights.get(objective, 0.0)
        w[idx] = weight * share / share.sum()
    total = w.sum()
    return w / total if total > 0 else w


class Sampler:
    """Draws (stream, row, swap) candidates for one micro-batch; weights follow the step's schedules."""

    def __init__(self, data: TokenData, s: TrainSettings, objectives: set[str] | None = None):
        """objectives: None = the masked objectives with s.objective_weights; else only these (weight 1),
        e.g. {"tlm"} for XLCO's translation pairs."""
        self.data, self.s, self.seed, self.objectives = data, s, s.seed, objectives
        self._n_train = np.array([len(st.train_rows) for st in data.streams])
        self._cache: dict[tuple, np.ndarray] = {}
        if s.language_phases:
            introduced = {lang for ph in s.language_phases for lang in ph["languages"]}
            never = sorted(set(data.languages) - introduced)
            if never:
                raise DataError(f"train.language_phases never introduces {never} (languages of the token data): "
                                "add them to a phase, or leave them out with the root `languages` list")
        for step in [0, *phase_boundaries(s)]:  # fail at start, not at the phase where nothing is left
            if self.weights_at(step).sum() <= 0:
                what = f"objective(s) {sorted(objectives)}" if objectives else "train.objective_weights"
                raise DataError(f"no stream to draw at step {step} ({what}, languages "
                                f"{sorted(languages_at(s, step) or data.languages)}): check the weights against "
                                "the objectives present and the language phases")

    def weights_at(self, step: int) -> np.ndarray:
        alpha, langs = alpha_at(self.s, step), languages_at(self.s, step)
        key = (alpha, langs)
        w = self._cache.get(key)
        if w is None:
            w = stream_weights(self.data, self.s.objective_weights, alpha, langs, self.objectives)
            if len(self._cache) > 64:  # α moving every step: keep the cache small
                self._cache.clear()
            self._cache[key] = w
        return w

    def candidates(self, rng: np.random.Generator, n: int, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """n draws: stream index, row (into the stream's table), and a TLM direction coin."""
        cdf = np.cumsum(self.weights_at(step))
        stream = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(cdf) - 1)
        pos = (rng.random(n) * self._n_train[stream]).astype(np.int64)
        rows = np.empty(n, dtype=np.int64)
        for k in np.unique(stream):  # per stream, vectorised (no Python loop over draws)
            sel = stream == k
            rows[sel] = self.data.streams[k].train_rows[pos[sel]]
        swap = rng.random(n) < 0.5
        return stream, rows, swap

    def state_dict(self) -> dict:
        # The order is a function of (seed, step); the weights are recorded to detect a changed corpus.
        return {"seed": self.seed, "weights": self.weights_at(0).tolist(),
                "streams": [f"{st.objective}/{st.key}" for st in self.data.streams]}
