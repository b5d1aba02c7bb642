"""Demo section for the train stage: a tiny encoder for a few hundred steps on the demo's shards
(CPU, about a minute), evaluated on held-out examples at the end."""

from pathlib import Path


def make_section(data_dir: Path) -> dict:
    return {"train": {
        "size": "tiny", "seq_len": 64, "batch_rows": 16, "steps": 300, "warmup_steps": 30, "lr": 2e-3,
        "log_every": 25, "ckpt_every": 100, "holdout_permille": 50, "eval_max_examples": 256,
        "device": "cpu", "threads": 1,
    }}
