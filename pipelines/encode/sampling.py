"""sampling.json: what the trainer reads to sample streams (objective × language / pair).

Built from the token products' manifests after they are written — never from a pass over the
shards: examples and files per partition from the manifest, token counts from the encode stage's
counters `<objective>[<partition>].tokens` (kept in every manifest), checked against the rows the
manifest lists and against a listing of the directory. Probabilities p_raw ∝ tokens and
p_smoothed ∝ tokens^α within each objective.
"""

from __future__ import annotations

import json

from pipelines.smoothing import raw_probs, smoothed_probs
from schemas.manifest import Manifest, ManifestError, list_shards

SAMPLING_FORMAT = 1


def partition_counter(objective: str, partition: str, what: str) -> str:
    """Name of the encode counter of one stream: `mlm[eng_Latn].tokens`, `tlm[deu_Latn-eng_Latn].examples`."""
    return f"{objective}[{partition}].{what}"


def partition_totals(product_dir: str, manifest: Manifest, objective: str) -> dict[str, dict]:
    """partition → {examples, tokens, files (relative to product_dir)} from the manifest alone.

    Raises ManifestError when the manifest disagrees with the directory listing or with its own
    counters (a shard added or removed by hand, or a manifest older than these counters)."""
    listed = sorted(f.path for f in manifest.files)
    on_disk = list_shards(product_dir)
    if listed != on_disk:
        extra, missing = sorted(set(on_disk) - set(listed)), sorted(set(listed) - set(on_disk))
        raise ManifestError(f"{product_dir}: shards on disk do not match manifest.json (not listed: {extra[:3]}, "
                            f"missing: {missing[:3]}); rerun with --force encode")
    out: dict[str, dict] = {}
    for f in sorted(manifest.files, key=lambda f: f.path):
        out.setdefault(f.partition, {"examples": 0, "tokens": 0, "files": []})["files"].append(f.path)
    c = manifest.counters
    for part, d in out.items():
        tokens, examples = partition_counter(objective, part, "tokens"), partition_counter(objective, part, "examples")
        if c.get(examples) != manifest.partitions.get(part):
            raise ManifestError(f"{product_dir}: counter {examples} is {c.get(examples)} but the manifest lists "
                                f"{manifest.partitions.get(part)} rows for {part}; rerun with --force encode")
        d["examples"], d["tokens"] = manifest.partitions[part], c.get(tokens, 0)
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
