"""Reading the shuffle counters of a stage (no Beam import: the report and summaries use this).

`pipelines.shuffle` counts every shuffle's input as ``shuffle.<name>.bytes`` / ``.elements``.
"""

from __future__ import annotations

PREFIX = "shuffle."


def shuffle_bytes(counters: dict[str, int]) -> int:
    """Total bytes of every counted shuffle of a stage."""
    return sum(v for k, v in counters.items() if k.startswith(PREFIX) and k.endswith(".bytes"))


def shuffle_table(counters: dict[str, int]) -> dict[str, dict[str, int]]:
    """{shuffle name: {"bytes": n, "elements": n}} from a stage's counters."""
    out: dict[str, dict[str, int]] = {}
    for k, v in counters.items():
        if k.startswith(PREFIX):
            name, what = k[len(PREFIX):].rsplit(".", 1)
            out.setdefault(name, {})[what] = v
    return dict(sorted(out.items()))
