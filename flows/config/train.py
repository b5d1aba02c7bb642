"""Config section `train` (owned by the train stage; see flows/stages/train.py).

Fields map one to one onto xlmodel.config.TrainSettings (tokens_dir, run_dir, seed and languages are
filled by the stage from `tokens_path`, OUT and the root config).
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
    seq_len: int = Field(128, ge=8, description="tokens per packed row")
    batch_rows: int = Field(16, ge=1, description="rows per micro-batch and rank")
    grad_accum: int = Field(1, ge=1, description="micro-batches per optimizer step and rank")
    holdout_permille: int = Field(10, ge=0, le=1000, description="held-out share of examples (stable id hash)")
    strip_markers: bool = Field(True, description="remove EntityCS language markers after locating entities")
    lang_embeddings: bool = Field(False, description="XLM-style language embeddings (not exportable to HF)")
    # objectives
    mask_rate: float = Field(0.15, gt=0, lt=1)
    mask_token_frac: float = Field(0.8, ge=0, le=1)
    random_token_frac: float = Field(0.1, ge=0, le=1)
    entity_masking: Literal["wep", "pep_mrs", "pep_ms", "pep_m", "wep+mlm", "pep_mrs+mlm", "pep_ms+mlm",
                            "pep_m+mlm"] = "pep_mrs+mlm"
    entity_prob: float = Field(0.5, ge=0, le=1, description="probability that an entity is chosen")
    # model
    size: Literal["tiny", "mini", "small", "base"] = "tiny"
    max_positions: int = Field(512, ge=8)
    dropout: float = Field(0.1, ge=0, lt=1)
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
    retrieval_layer: int = Field(-1, ge=-1, description="hidden layer for retrieval; -1 = middle")
    eval_seed: int = 1234
