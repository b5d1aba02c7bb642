"""sampling.json: what the trainer reads to sample streams (objective × language / pair).

Built from the token products after they are written: rows and files from each manifest, token
counts summed from the shards' n_tokens column (memory-mapped, one column read), probabilities
p_raw ∝ tokens and p_smoothed ∝ tokens^α within each objective.
"""

from __future__ import annotations

import json
import posixpath

import pyarrow.compute as pc

from pipelines.shards import iter_shard_batches
from pipelines.smoothing import raw_probs, smoothed_probs
from schemas.manifest import list_shards

SAMPLING_FORMAT = 1


def shard_tokens(path: str) -> tuple[int, int]:
    """(rows, Σ n_tokens) of one Arrow token shard."""
    rows = tokens = 0
    for batch in iter_shard_batches(path, ["n_tokens"]):
        col = batch.column("n_tokens")
        rows += len(col)
        tokens += int(pc.sum(col).as_py() or 0)
    return rows, tokens


def partition_totals(product_dir: str) -> dict[str, dict]:
    """partition → {examples, tokens, files (relative to product_dir)} from the shards on disk."""
    out: dict[str, dict] = {}
    for rel in list_shards(product_dir):
        part = rel.split("/")[0]
        rows, tokens = shard_tokens(posixpath.join(product_dir, rel))
        d = out.setdefault(part, {"examples": 0, "tokens": 0, "files": []})
        d["examples"] += rows
        d["tokens"] += tokens
        d["files"].append(rel)
    return dict(sorted(out.items()))


def objective_streams(totals: dict[str, dict], objective: str, alpha: float) -> dict[str, dict]:
    """Streams of one objective with their probabilities; files prefixed by the objective dir."""
    counts = {k: v["tokens"] for k, v in totals.items()}
    p_raw, p_smooth = raw_probs(counts), smoothed_probs(counts, alpha)
    return {
        part: {"examples": v["examples"], "tokens": v["tokens"],
               "files": [f"{objective}/{f}" for f in v["files"]],
               "p_raw": p_raw[part], "p_smoothed": p_smooth[part]}
        for part, v in totals.items()
    }


def build_sampling(totals: dict[str, dict[str, dict]], alpha: float, seed: int, tokenizer: dict) -> dict:
    """totals: objective → partition_totals(...). tokenizer: tokenizer_info(...) + model/hf paths."""
    return {
        "format": SAMPLING_FORMAT,
        "alpha": alpha,
        "seed": seed,
        "tokenizer": tokenizer,
        "objectives": {obj: {"streams": objective_streams(t, obj, alpha)} for obj, t in sorted(totals.items())},
    }


def dumps(sampling: dict) -> str:
    return json.dumps(sampling, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
