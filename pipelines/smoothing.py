"""Exponential smoothing of sampling probabilities over languages (or language pairs).

p_i = n_i^α / Σ_j n_j^α (XLM: α = 0.5; XLM-R / mT5: α = 0.3). α = 1 keeps the raw proportions,
α → 0 tends to uniform. Used by the tokenizer sample and by sampling.json.
"""

from __future__ import annotations

import math


def smoothed_probs(counts: dict[str, float], alpha: float) -> dict[str, float]:
    """p_i ∝ n_i^α over the keys of `counts` (sorted keys). Keys with n_i = 0 get p = 0.

    An empty mapping, or one whose counts are all zero, gives {} / all zeros rather than dividing
    by zero: a stream with nothing in it can never be sampled.
    """
    if alpha < 0 or math.isnan(alpha):
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    for k, n in counts.items():
        if n < 0 or math.isnan(n):
            raise ValueError(f"count of {k!r} must be >= 0, got {n}")
    weights = {k: (float(n) ** alpha if n > 0 else 0.0) for k, n in sorted(counts.items())}
    total = math.fsum(weights.values())
    if total == 0:
        return dict.fromkeys(weights, 0.0)
    return {k: w / total for k, w in weights.items()}


def raw_probs(counts: dict[str, float]) -> dict[str, float]:
    """Proportions before smoothing (α = 1)."""
    return smoothed_probs(counts, 1.0)


def allocate(probs: dict[str, float], total: int) -> dict[str, int]:
    """Split `total` draws over the keys in proportion to `probs`, summing exactly to `total`.

    Largest-remainder rounding with ties broken by key, so the result is deterministic and never
    drifts by one from the requested size (plain rounding can).
    """
    if total < 0:
        raise ValueError(f"total must be >= 0, got {total}")
    live = {k: p for k, p in probs.items() if p > 0}
    if not live or total == 0:
        return dict.fromkeys(sorted(probs), 0)
    mass = math.fsum(live.values())
    exact = {k: total * p / mass for k, p in live.items()}
    out = {k: int(math.floor(v)) for k, v in exact.items()}
    left = total - sum(out.values())
    for k in sorted(live, key=lambda k: (-(exact[k] - out[k]), k))[:left]:
        out[k] += 1
    return {k: out.get(k, 0) for k in sorted(probs)}


def sample_plan(available: dict[str, int], alpha: float, total: int) -> dict[str, int]:
    """How many sentences to draw per language for a sample of `total` smoothed at α.

    A language whose quota exceeds what it has is drawn with repetition (whole passes plus a
    seeded partial pass): that repetition is what gives low-resource languages their weight.
    """
    return allocate(smoothed_probs(available, alpha), total)
