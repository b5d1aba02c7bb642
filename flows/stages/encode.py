"""Stage `encode` (not built yet)."""

from __future__ import annotations


def enabled(cfg) -> bool:
    return False


def run(cfg, force: bool = False, log_fn=None):
    raise NotImplementedError("stage encode is not built yet")


def summarize(cfg, result: dict):
    return None
