"""Config section `neardup`: MinHash LSH near-duplicate removal inside the mono stage
(pipelines/neardup). `to_params()` hands plain values to the Beam code."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipelines.neardup.params import NearDupParams


class NearDupConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(True, description="remove near-duplicate documents (MinHash LSH) after exact dedup")
    ngram: int = Field(5, ge=1, description="word n-gram size of shingles (scripts written with spaces)")
    char_ngram: int = Field(
        5, ge=1, description="character n-gram size for scripts written without spaces (Han, kana, Thai, ...)"
    )
    bands: int = Field(14, ge=1, description="LSH bands b; candidate probability 1-(1-s^r)^b")
    rows: int = Field(8, ge=1, description="rows per band r; signature length = bands*rows")
    seed: int = Field(0, description="seed of the MinHash permutations and token hashes")
    threshold: float = Field(
        0.7, ge=0.0, le=1.0, description="Jaccard a candidate pair must reach when verify != none"
    )
    verify: Literal["none", "estimated", "exact"] = Field(
        "estimated",
        description="check candidate pairs: none, estimated (signature agreement) or exact (shingle-set Jaccard)",
    )
    max_rounds: int = Field(
        16, ge=1, description="connected-components rounds (large-star + small-star); the run fails if they do not converge: raise this"
    )
    max_pair_bucket: int = Field(
        32, ge=2, description="LSH buckets up to this size emit all pairs, larger ones a star to their first doc"
    )
    batch_size: int = Field(256, ge=1, description="documents per vectorized signature batch")

    def to_params(self) -> NearDupParams:
        return NearDupParams(**self.model_dump())
