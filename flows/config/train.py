"""Config section `train` (owned by the train stage; see flows/stages/train.py).

Fields map one to one onto xlmodel.config.TrainSettings (tokens_dir, run_dir, seed and languages are
filled by the stage from `tokens_path`, OUT and the root config).
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SPECIALS_SINGLE, SPECIALS_PAIR = 2, 4  # <s> x </s>; <s> src </s></s> tgt </s> (xlmodel.config)


class LanguagePhase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: float = Field(ge=0, lt=1, description="fraction of train.steps at which these languages join")
    languages: list[str] = Field(min_length=1, description="languages (xxx_Scrp) introduced at `start`")


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(True, description="run the train stage when token shards exist or encode runs")
    tokens_path: str = Field("", description="folder with sampling.json; empty = OUT/tokens")
    nproc: int = Field(1, ge=1, description="processes (GPUs) per node; > 1 launches torchrun (DDP)")
    resume: bool = Field(False, description="continue an interrupted run from its latest checkpoint")
    # data
    objective_weights: dict[str, float] = Field(
        default_factory=lambda: {"mlm": 1.0, "tlm": 1.0, "cs": 1.0, "entity": 1.0},
        description="relative weight of each objective; within one, streams follow sampling.json's p_smoothed")
    seq_len: int = Field(256, ge=8, description=(
        "tokens per packed row; every example fits one row whole (>= encode.max_tokens + 2 and "
        ">= 2 × encode.tlm_max_tokens_per_side + 4, checked when the config loads)"))
    batch_rows: int = Field(16, ge=1, description="rows per micro-batch and rank")
    grad_accum: int = Field(1, ge=1, description="micro-batches per optimizer step and rank")
    holdout_permille: int = Field(10, ge=0, le=1000, description=(
        "held-out share, by parent (document, pair, sentence): hash(parent_id) % 1000 below this is eval-only"))
    strip_markers: bool = Field(True, description="remove EntityCS language markers after locating entities")
    lang_embeddings: bool = Field(False, description="XLM-style language embeddings (not exportable to HF)")
    # objectives
    mask_rate: float = Field(0.15, gt=0, lt=1)
    mask_token_frac: float = Field(0.8, ge=0, le=1)
    random_token_frac: float = Field(0.1, ge=0, le=1)
    entity_masking: Literal["wep", "pep_mrs", "pep_ms", "pep_m", "wep+mlm", "pep_mrs+mlm", "pep_ms+mlm",
                            "pep_m+mlm"] = "pep_mrs+mlm"
    entity_prob: float = Field(0.5, ge=0, le=1, description="probability that an entity is chosen")
    # XLCO (InfoXLM cross-lingual contrast on the tlm pairs)
    xlco_weight: float = Field(0.0, ge=0, description="weight of the XLCO loss added to the masked loss; 0 = off")
    xlco_pairs: int = Field(32, ge=2, description="translation pairs per micro-batch and rank")
    xlco_negatives: Literal["queue", "in_batch"] = Field(
        "queue", description="queue: momentum-encoder keys of this step + a queue (InfoXLM); in_batch: the batch")
    xlco_queue: int = Field(4096, ge=0, description="negatives kept in the queue (gathered over ranks)")
    xlco_momentum: float = Field(0.999, ge=0, lt=1, description="key encoder momentum")
    xlco_temperature: float = Field(0.1, gt=0)
    xlco_layer: int = Field(-1, ge=-1, description="hidden layer pooled for XLCO (0 = embeddings); -1 = middle")
    xlco_pooling: Literal["mean", "cls"] = Field("mean", description="mean of content tokens, or <s>")
    # schedules (fractions of steps; linear between points; empty = constant)
    alpha_schedule: list[tuple[float, float]] = Field(
        default_factory=list, description="[[fraction, alpha], …]: stream shares ∝ tokens^alpha (e.g. 0.7 → 0.3)")
    mask_rate_schedule: list[tuple[float, float]] = Field(
        default_factory=list, description="[[fraction, rate], …]: replaces mask_rate (e.g. 0.3 → 0.15)")
    language_phases: list[LanguagePhase] = Field(
        default_factory=list, description="languages introduced by phase (cumulative); empty = all from step 0")
    # model
    size: Literal["tiny", "mini", "small", "base"] = "tiny"
    max_positions: int = Field(512, ge=8)
    dropout: float = Field(0.1, ge=0, lt=1)
    attention: Literal["auto", "dense", "nested", "varlen"] = Field(
        "auto", description="packed-row attention: dense mask | nested (unpadded SDPA) | varlen (flash, CUDA); "
                            "auto = nested on CUDA, dense on CPU")
    # optimisation
    steps: int = Field(1000, ge=1)
    lr: float = Field(5e-4, gt=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1)
    warmup_steps: int = Field(100, ge=0)
    schedule: Literal["linear", "cosine"] = "linear"
    weight_decay: float = Field(0.01, ge=0)
    betas: tuple[float, float] = (0.9, 0.98)
    grad_clip: float = Field(1.0, gt=0)
    # runtime
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["bf16", "fp32"] = "bf16"
    compile: bool = False
    threads: int = Field(0, ge=0, description="torch CPU threads (0 = torch default)")
    log_every: int = Field(10, ge=1)
    ckpt_every: int = Field(200, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    progress: bool = True
    tensorboard: bool = Field(False, description="also write TensorBoard events (needs the tensorboard package)")
    peak_tflops: float = Field(0.0, ge=0, description="device peak for MFU; 0 = look the GPU up")
    # eval
    eval_max_examples: int = Field(512, ge=1, description="held-out examples per stream")
    eval_batch_rows: int = Field(32, ge=1)
    retrieval_layer: int = Field(-1, ge=-1, description="hidden layer for retrieval (the last is also reported); -1 = middle")
    eval_seed: int = 1234
    eval_parallel: list[str] = Field(
        default_factory=list, description="held-out parallel files/folders (TSV, Moses, Tatoeba, FLORES) for retrieval")


def length_problem(cfg) -> str | None:
    """One line naming both fields when train.seq_len cannot hold the longest example encode keeps
    (nothing is truncated), else None. Checked only when train reads this config's own encode output."""
    t, e = cfg.train, cfg.encode
    if not t.enabled or t.tokens_path or "train" not in cfg.stages:
        return None
    if t.seq_len < e.max_tokens + SPECIALS_SINGLE:
        return (f"train.seq_len {t.seq_len} < encode.max_tokens {e.max_tokens} + {SPECIALS_SINGLE} (<s> </s>): "
                f"set train.seq_len >= {e.max_tokens + SPECIALS_SINGLE} or encode.max_tokens <= "
                f"{t.seq_len - SPECIALS_SINGLE} (examples are never truncated)")
    if t.seq_len < 2 * e.tlm_max_tokens_per_side + SPECIALS_PAIR:
        return (f"train.seq_len {t.seq_len} < 2 × encode.tlm_max_tokens_per_side {e.tlm_max_tokens_per_side} + "
                f"{SPECIALS_PAIR}: set train.seq_len >= {2 * e.tlm_max_tokens_per_side + SPECIALS_PAIR} or "
                f"encode.tlm_max_tokens_per_side <= {(t.seq_len - SPECIALS_PAIR) // 2} (pairs are never truncated)")
    return None



def length_note(cfg) -> str:
    """What the length check established, for the stage log (the demo shows it)."""
    t, e = cfg.train, cfg.encode
    if t.tokens_path:
        return (f"train.seq_len {t.seq_len}: the shards in {t.tokens_path} are checked against it when they open "
                "(examples are never truncated)")
    return (f"train.seq_len {t.seq_len} >= encode.max_tokens {e.max_tokens} + {SPECIALS_SINGLE} and >= 2 × "
            f"encode.tlm_max_tokens_per_side {e.tlm_max_tokens_per_side} + {SPECIALS_PAIR}: every example fits a "
            "row whole (nothing is truncated)")
