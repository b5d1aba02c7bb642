"""Checkpoints: one torch file per saved step, written to a temporary name and renamed into place,
plus a `latest` pointer (also renamed into place) — a crash never leaves a half-written checkpoint
that --resume would pick."""

from __future__ import annotations

import os
from pathlib import Path

import torch

CKPT_DIR = "checkpoints"


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_checkpoint(run_dir: str | Path, step: int, state: dict, keep: int = 2) -> Path:
    d = Path(run_dir) / CKPT_DIR
    d.mkdir(parents=True, exist_ok=True)
    final = d / f"step-{step:08d}.pt"
    tmp = d / f".step-{step:08d}.pt.tmp"
    torch.save(state, tmp)
    os.replace(tmp, final)
    atomic_write_text(d / "latest", final.name + "\n")
    if keep > 0:
        for old in sorted(d.glob("step-*.pt"))[:-keep]:
            old.unlink()
    return final


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    d = Path(run_dir) / CKPT_DIR
    pointer = d / "latest"
    if not pointer.is_file():
        return None
    path = d / pointer.read_text(encoding="utf-8").strip()
    return path if path.is_file() else None


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    # weights_only=False: the state holds RNG states and plain dicts written by this module only.
    return torch.load(path, map_location=map_location, weights_only=False)
