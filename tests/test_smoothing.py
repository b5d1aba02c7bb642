"""Exponential smoothing p_i ∝ n_i^α against hand-computed values (REFERENCES.md)."""

from __future__ import annotations

import pytest

from pipelines.smoothing import allocate, raw_probs, sample_plan, smoothed_probs

COUNTS = {"a": 10_000_000, "b": 1_000_000, "c": 100_000}
# REFERENCES.md's worked values (%); they are truncated to one decimal, hence the 0.2 point tolerance.
WORKED = {1.0: (90.1, 9.0, 0.9), 0.7: (80.7, 16.1, 3.2), 0.5: (70.5, 22.3, 7.1), 0.4: (64.1, 25.5, 10.2),
          0.3: (57.0, 28.6, 14.3)}


@pytest.mark.parametrize("alpha", sorted(WORKED))
def test_worked_values(alpha):
    p = smoothed_probs(COUNTS, alpha)
    for key, expected in zip("abc", WORKED[alpha], strict=True):
        assert 100 * p[key] == pytest.approx(expected, abs=0.2)
    assert sum(p.values()) == pytest.approx(1.0)


def test_exact_formula():
    p = smoothed_probs(COUNTS, 0.5)
    z = 10_000_000 ** 0.5 + 1_000_000 ** 0.5 + 100_000 ** 0.5
    assert p["b"] == pytest.approx(1000 / z, rel=1e-12)


def test_alpha_07_is_not_the_often_quoted_64_25_11():
    p = smoothed_probs(COUNTS, 0.7)
    assert abs(100 * p["a"] - 64) > 10 and abs(100 * p["c"] - 11) > 5
    q = smoothed_probs(COUNTS, 0.4)  # the quoted figures are α = 0.4
    assert [round(100 * q[k]) for k in "abc"] == [64, 26, 10]


def test_edges():
    assert smoothed_probs({}, 0.3) == {}
    assert smoothed_probs({"x": 0, "y": 0}, 0.3) == {"x": 0.0, "y": 0.0}
    assert smoothed_probs({"x": 0, "y": 5}, 0.3) == {"x": 0.0, "y": 1.0}
    assert smoothed_probs({"x": 1, "y": 100}, 0.0) == {"x": 0.5, "y": 0.5}
    assert raw_probs({"x": 1, "y": 3}) == {"x": 0.25, "y": 0.75}
    with pytest.raises(ValueError):
        smoothed_probs({"x": 1}, -0.1)
    with pytest.raises(ValueError):
        smoothed_probs({"x": -1}, 0.3)


def test_allocate_sums_exactly_and_is_deterministic():
    p = smoothed_probs({"a": 7, "b": 7, "c": 7}, 0.3)
    assert allocate(p, 10) == {"a": 4, "b": 3, "c": 3}  # tie broken by key
    for total in (0, 1, 99, 1000, 12345):
        plan = sample_plan(COUNTS, 0.3, total)
        assert sum(plan.values()) == total
    plan = sample_plan(COUNTS, 0.3, 1000)
    assert plan == {"a": 571, "b": 286, "c": 143}
    assert sample_plan({"a": 5, "z": 0}, 0.3, 10) == {"a": 10, "z": 0}
