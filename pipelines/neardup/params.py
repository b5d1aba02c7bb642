"""Plain parameters of near-duplicate removal (no pydantic: pipelines never import flows)."""

from __future__ import annotations

from dataclasses import dataclass

VERIFY_MODES = ("none", "estimated", "exact")


@dataclass(frozen=True)
class NearDupParams:
    """Everything `NearDedup` needs; built by `flows.config.neardup.NearDupConfig.to_params()`."""

    enabled: bool = True
    ngram: int = 5  # word n-gram size (spaced scripts)
    char_ngram: int = 5  # character n-gram size (scripts written without spaces)
    bands: int = 14  # LSH bands b
    rows: int = 8  # rows per band r; signature length = b * r
    seed: int = 0  # seeds the permutations and the token hashes
    threshold: float = 0.7  # Jaccard a verified candidate pair must reach
    verify: str = "estimated"  # none | estimated (signature agreement) | exact (shingle sets)
    max_rounds: int = 16  # large-star/small-star rounds before the run fails as not converged
    max_pair_bucket: int = 32  # buckets up to this size emit all pairs, larger ones a star
    batch_size: int = 256  # documents per vectorized signature batch

    def __post_init__(self) -> None:
        if self.verify not in VERIFY_MODES:
            raise ValueError(f"neardup verify must be one of {VERIFY_MODES}, got {self.verify!r}")
        for name in ("ngram", "char_ngram", "bands", "rows", "max_rounds", "max_pair_bucket", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"neardup {name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"neardup threshold must be in [0, 1], got {self.threshold}")

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows
