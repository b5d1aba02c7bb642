"""Beam counters and rejects, one convention for every stage.

Counters live in the stage's namespace and are named ``<unit>.read``, ``<unit>.kept`` and
``<unit>.dropped.<reason>`` (see schemas.manifest). A dropped *input record* also becomes a
`rejects` row saying where it came from, so nothing is lost silently.
"""

from __future__ import annotations

from apache_beam.metrics import Metrics

from pipelines.ids import stable_id

REJECTS_TAG = "rejects"


def inc(stage: str, name: str, n: int = 1) -> None:
    Metrics.counter(stage, name).inc(n)


def make_reject(
    stage: str,
    step: str,
    reason: str,
    *,
    source: str | None = None,
    offset: int | None = None,
    record_id: str | None = None,
    detail: str | None = None,
    sample: str | None = None,
) -> dict:
    """A `rejects` record (schemas.REJECTS) with a stable id."""
    return {
        "reject_id": stable_id(stage, step, source, offset, record_id, reason),
        "stage": stage,
        "step": step,
        "source": source,
        "offset": offset,
        "record_id": record_id,
        "reason": reason,
        "detail": detail,
        "sample": sample[:200] if sample else sample,
    }


def drop(stage: str, unit: str, step: str, reason: str, **where) -> dict:
    """Count a dropped record (``<unit>.dropped.<reason>``) and return its rejects row."""
    inc(stage, f"{unit}.dropped.{reason}")
    return make_reject(stage, step, reason, **where)


def metrics_by_name(result, namespace: str) -> dict[str, int]:
    """Sum the committed (or attempted, where a runner has no committed) counters of a namespace by name."""
    out: dict[str, int] = {}
    for r in result.metrics().query()["counters"]:
        if r.key.metric.namespace != namespace:
            continue
        try:
            value = r.committed
        except Exception:  # some runners only report attempted values
            value = None
        if value is None:
            value = r.attempted
        out[r.key.metric.name] = out.get(r.key.metric.name, 0) + int(value or 0)
    return dict(sorted(out.items()))
