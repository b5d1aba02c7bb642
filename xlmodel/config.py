"""Settings of one training run: a plain dataclass, so xlmodel needs no flows/pydantic import.

flows/config/train.py (the `train` section of the YAML config) maps onto these fields one to one;
`python -m xlmodel train --settings run.json` reads the same fields from JSON.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

# (layers, d_model, heads, d_ff). base = XLM-R base; the small ones are for tests, demos and CPU runs.
MODEL_SIZES: dict[str, tuple[int, int, int, int]] = {
    "tiny": (2, 64, 2, 256),
    "mini": (4, 256, 4, 1024),
    "small": (6, 512, 8, 2048),
    "base": (12, 768, 12, 3072),
}

ENTITY_MASKING = ("wep", "pep_mrs", "pep_ms", "pep_m", "wep+mlm", "pep_mrs+mlm", "pep_ms+mlm", "pep_m+mlm")
MASKED_OBJECTIVES = ("mlm", "tlm", "cs", "entity")  # objectives of the packed, masked rows
ATTENTION = ("auto", "dense", "nested", "varlen")
XLCO_NEGATIVES = ("queue", "in_batch")
POOLING = ("mean", "cls")
# Special tokens the packer adds around an example (schemas/tokens.py stores ids without them).
SPECIALS_SINGLE = 2  # <s> x </s>
SPECIALS_PAIR = 4  # <s> src </s></s> tgt </s>


@dataclass
class TrainSettings:
    tokens_dir: str = "out/tokens"  # folder holding sampling.json
    run_dir: str = "out/model"  # checkpoints, metrics.jsonl, eval.json, hf/
    seed: int = 0
    languages: list[str] = field(default_factory=list)  # empty = every stream of sampling.json
    # data
    objective_weights: dict[str, float] = field(
        default_factory=lambda: {"mlm": 1.0, "tlm": 1.0, "cs": 1.0, "entity": 1.0})
    seq_len: int = 256  # tokens per packed row: every example must fit one row whole (nothing is cut)
    batch_rows: int = 16  # rows per micro-batch (per rank)
    grad_accum: int = 1  # micro-batches per step (per rank)
    holdout_permille: int = 10  # examples whose parent's hash % 1000 falls below this are eval-only
    strip_markers: bool = True  # EntityCS: language markers are removed after locating entity spans
    lang_embeddings: bool = False  # XLM-style language embeddings (XLM-R drops them; not exportable)
    # objectives
    mask_rate: float = 0.15
    mask_token_frac: float = 0.8  # of predicted tokens → <mask>
    random_token_frac: float = 0.1  # of predicted tokens → random token (rest unchanged)
    entity_masking: str = "pep_mrs+mlm"  # one of ENTITY_MASKING
    entity_prob: float = 0.5  # probability that an entity is chosen for prediction
    # XLCO (InfoXLM): InfoNCE on translation pairs (the tlm streams), added to the masked loss × xlco_weight
    xlco_weight: float = 0.0  # 0 = off
    xlco_pairs: int = 32  # translation pairs per micro-batch (per rank)
    xlco_negatives: str = "queue"  # queue: momentum-encoder keys, this step's + a queue; in_batch: the batch only
    xlco_queue: int = 4096  # negatives kept (gathered over ranks: the same queue on every rank)
    xlco_momentum: float = 0.999  # key encoder ← m · key + (1 − m) · model, after every step
    xlco_temperature: float = 0.1
    xlco_layer: int = -1  # hidden layer whose pooled vector is contrasted (0 = embeddings); -1 = middle
    xlco_pooling: str = "mean"  # mean of content tokens | cls (<s>)
    # schedules over training (fractions of `steps`; piecewise linear between points; empty = constant)
    alpha_schedule: list = field(default_factory=list)  # [[frac, alpha], …]: p ∝ tokens^alpha per objective
    mask_rate_schedule: list = field(default_factory=list)  # [[frac, rate], …]: replaces mask_rate
    language_phases: list = field(default_factory=list)  # [{"start": frac, "languages": [...]}, …], cumulative
    # model
    size: str = "tiny"  # one of MODEL_SIZES
    max_positions: int = 512
    dropout: float = 0.1
    attention: str = "auto"  # dense (block mask) | nested (jagged SDPA) | varlen (flash, CUDA) | auto: nested on CUDA, else dense
    # optimisation
    steps: int = 1000
    lr: float = 5e-4
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    schedule: str = "linear"  # linear | cosine (decay after warmup)
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    grad_clip: float = 1.0
    # runtime
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "bf16"  # bf16 autocast on CUDA; CPU always runs fp32
    compile: bool = False
    threads: int = 0  # torch CPU threads (0 = torch default)
    log_every: int = 10
    ckpt_every: int = 200
    keep_checkpoints: int = 2
    progress: bool = True
    tensorboard: bool = False
    peak_tflops: float = 0.0  # overrides the device peak table for MFU (0 = look it up)
    # eval
    eval_max_examples: int = 512  # per stream
    eval_batch_rows: int = 32
    retrieval_layer: int = -1  # hidden layer for retrieval (0 = embeddings); -1 = middle layer (the last is also reported)
    eval_seed: int = 1234
    eval_parallel: list[str] = field(default_factory=list)  # held-out parallel files/folders (see parallel_files.py)

    def validate(self) -> None:
        if self.size not in MODEL_SIZES:
            raise ValueError(f"size {self.size!r} unknown: choose from {', '.join(MODEL_SIZES)}")
        if self.entity_masking not in ENTITY_MASKING:
            raise ValueError(f"entity_masking {self.entity_masking!r} unknown: choose from {', '.join(ENTITY_MASKING)}")
        if self.schedule not in ("linear", "cosine"):
            raise ValueError("schedule must be linear or cosine")
        if self.seq_len < 8 or self.seq_len > self.max_positions:
            raise ValueError(f"seq_len must be in [8, max_positions={self.max_positions}]")
        if not 0 < self.mask_rate < 1 or self.mask_token_frac + self.random_token_frac > 1:
            raise ValueError("mask_rate must be in (0, 1) and mask_token_frac + random_token_frac <= 1")
        if self.steps < 1 or self.batch_rows < 1 or self.grad_accum < 1:
            raise ValueError("steps, batch_rows and grad_accum must be >= 1")
        unknown = set(self.objective_weights) - set(MASKED_OBJECTIVES)
        if unknown:
            hint = " (XLCO has its own xlco_weight)" if "xlco" in unknown else ""
            raise ValueError(f"objective_weights has unknown objective(s) {sorted(unknown)}{hint}")
        for name, allowed in (("attention", ATTENTION), ("xlco_negatives", XLCO_NEGATIVES),
                              ("xlco_pooling", POOLING)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} {getattr(self, name)!r} unknown: choose from {', '.join(allowed)}")
        if self.xlco_weight < 0 or self.xlco_pairs < 2 or self.xlco_queue < 0 or not 0 <= self.xlco_momentum < 1 \
                or self.xlco_temperature <= 0:
            raise ValueError("xlco: weight >= 0, pairs >= 2, queue >= 0, 0 <= momentum < 1, temperature > 0")
        from xlmodel.schedule import check_schedules  # here, not at import: schedule.py imports this module

        check_schedules(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> TrainSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(raw) - names
        if unknown:
            raise ValueError(f"unknown train setting(s): {sorted(unknown)}")
        raw = dict(raw)
        if "betas" in raw:
            raw["betas"] = tuple(raw["betas"])
        return cls(**raw)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> TrainSettings:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
