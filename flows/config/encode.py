"""Config section `encode` (owned by the encode stage; see flows/stages/encode.py)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_OBJECTIVES = ["mlm", "tlm", "cs", "entity"]


class EncodeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    objectives: list[Literal["mlm", "tlm", "cs", "entity"]] = Field(
        default_factory=lambda: list(DEFAULT_OBJECTIVES),
        description="objectives to encode; the others get an empty product dir",
    )
    documents: str = Field("documents", description="mlm input product dir under OUT")
    pairs: str = Field("pairs", description="tlm input product dir under OUT")
    codeswitch: list[str] = Field(
        default_factory=lambda: ["codeswitch/alm", "codeswitch/dict"], description="cs input product dirs"
    )
    entity: str = Field("codeswitch/entitycs", description="entity input product dir under OUT")
    max_tokens: int = Field(254, ge=8, description=(
        "longest example without <s> </s>: documents are split into mlm blocks of at most this; longer cs / "
        "entity samples are dropped (too_long). train.seq_len must be >= max_tokens + 2"))
    tlm_max_tokens_per_side: int = Field(100, ge=1, description=(
        "pairs with a longer side are dropped (too_long; XLM: 100). train.seq_len must be >= 2 × this + 4"))
    alpha: float = Field(0.3, ge=0.0, le=1.0, description="smoothing exponent written to sampling.json")
    compression: Literal["none", "lz4"] = Field("none", description="Arrow IPC buffer compression")
    target_shard_mb: float = Field(128.0, gt=0)
    batch_size: int = Field(256, ge=1, description="records per SentencePiece batch call")
    spm_threads: int = Field(1, ge=1, description="SentencePiece threads per Beam worker")
