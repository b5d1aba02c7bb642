"""Annealed sampling and masking (mmBERT-style): what changes with the training step.

- `alpha_schedule`: the smoothing exponent over training; a stream's probability within its
  objective is recomputed from sampling.json's token counts as tokens^α / Σ tokens^α (α 0.7 → 0.3
  moves weight from high- to low-resource languages as training goes on).
- `mask_rate_schedule`: the MLM mask rate over training (e.g. 30% early → 15% late).
- `language_phases`: languages introduced by phase; a stream is drawn only once every language of
  it (both sides of a pair) has been introduced.

Schedules are points [fraction of `steps`, value], linear in between, constant outside; everything
is a pure function of (settings, step), so a resumed run needs no schedule state beyond the step —
the checkpoint records the settings (and resume refuses changed ones) and the values in force.
"""

from __future__ import annotations

from xlmodel.config import TrainSettings


def piecewise(points: list, frac: float) -> float:
    """Linear interpolation through sorted (frac, value) points; constant before the first / after the
    last. Two points at the same fraction make a step: the later value holds from that fraction on."""
    if frac < points[0][0]:
        return float(points[0][1])
    i = max(k for k, (x, _) in enumerate(points) if x <= frac)  # the last point at or before frac
    if i == len(points) - 1:
        return float(points[-1][1])
    (x0, y0), (x1, y1) = points[i], points[i + 1]  # x0 <= frac < x1
    return float(y0) + (float(y1) - float(y0)) * (frac - x0) / (x1 - x0)


def progress(s: TrainSettings, step: int) -> float:
    return step / max(1, s.steps)


def alpha_at(s: TrainSettings, step: int) -> float | None:
    """The smoothing exponent at `step`, or None: use sampling.json's p_smoothed as it is."""
    return piecewise(s.alpha_schedule, progress(s, step)) if s.alpha_schedule else None


def mask_rate_at(s: TrainSettings, step: int) -> float:
    return piecewise(s.mask_rate_schedule, progress(s, step)) if s.mask_rate_schedule else s.mask_rate


def languages_at(s: TrainSettings, step: int) -> frozenset[str] | None:
    """Languages introduced by `step` (phases are cumulative), or None: every language from the start."""
    if not s.language_phases:
        return None
    frac = progress(s, step)
    return frozenset(lang for ph in s.language_phases if ph["start"] <= frac for lang in ph["languages"])


def phase_boundaries(s: TrainSettings) -> list[int]:
    """First step of each language phase (where the set of drawable streams changes)."""
    return sorted({min(s.steps - 1, int(-(-ph["start"] * s.steps // 1))) for ph in s.language_phases})


def state_at(s: TrainSettings, step: int) -> dict:
    """What is in force at `step` (logged in metrics.jsonl, saved in checkpoints)."""
    langs = languages_at(s, step)
    return {"alpha": alpha_at(s, step), "mask_rate": mask_rate_at(s, step),
            "languages": sorted(langs) if langs is not None else None}


def _check_points(name: str, points: list, lo: float, hi: float, open_lo: bool = False) -> None:
    if not isinstance(points, list):
        raise ValueError(f"{name} must be a list of [fraction, value] points")
    prev = -1.0
    for p in points:
        if not (isinstance(p, (list, tuple)) and len(p) == 2):
            raise ValueError(f"{name}: {p!r} is not a [fraction, value] point")
        frac, value = float(p[0]), float(p[1])
        if not 0.0 <= frac <= 1.0 or frac < prev:
            raise ValueError(f"{name}: fractions must be in [0, 1] and non-decreasing (got {frac} after {prev})")
        if not (lo < value if open_lo else lo <= value) or value > hi:
            raise ValueError(f"{name}: value {value} outside [{lo}, {hi}]")
        prev = frac


def check_schedules(s: TrainSettings) -> None:
    """ValueError naming the schedule setting and what is wrong with it."""
    _check_points("alpha_schedule", s.alpha_schedule, 0.0, 1.0)
    _check_points("mask_rate_schedule", s.mask_rate_schedule, 0.0, 0.99, open_lo=True)
    prev = -1.0
    for i, ph in enumerate(s.language_phases):
        if not isinstance(ph, dict) or set(ph) != {"start", "languages"} or not ph["languages"]:
            raise ValueError(f"language_phases[{i}] must be {{start: fraction, languages: [codes…]}} with ≥ 1 language")
        if not 0.0 <= float(ph["start"]) < 1.0 or float(ph["start"]) < prev:
            raise ValueError(f"language_phases[{i}].start must be in [0, 1) and non-decreasing")
        prev = float(ph["start"])
    if s.language_phases and float(s.language_phases[0]["start"]) != 0.0:
        raise ValueError("language_phases[0].start must be 0: training needs languages from the first step")
