"""Config section `orchestration`: how the build_corpus flow runs its stages — at the same time or one
by one, how often it retries a transient runner failure, how often it logs progress, and whether it
writes the HTML report. Not part of any stage key: it changes no output byte."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class RetryPolicy(BaseModel):
    """Retries of a stage after a transient runner failure (never after a user error)."""

    model_config = ConfigDict(extra="forbid")
    count: int = Field(2, ge=0, description="retries after the first try (0 = never retry)")
    delay_seconds: float = Field(30.0, ge=0, description="wait before each retry")


class OrchestrationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    concurrent_stages: bool = Field(
        True, description="run independent stages (mono, wiki, parallel) at the same time; false: one by one")
    retry: RetryPolicy = RetryPolicy()
    stage_retry: dict[str, RetryPolicy] = Field(
        default_factory=dict, description="per-stage retry policy overriding `retry`, e.g. {train: {count: 0}}")
    progress_log_seconds: float = Field(
        10.0, gt=0, description="a running stage logs its progress (files done, records/s, ETA) at most this often")
    report: bool = Field(
        True, description="write OUT/report.html after a build (local OUT) and link it as a Prefect artifact")

    @field_validator("stage_retry")
    @classmethod
    def _known_stages(cls, v: dict[str, RetryPolicy]) -> dict[str, RetryPolicy]:
        from flows.config import STAGE_ORDER  # imported here: flows.config imports this module

        unknown = sorted(set(v) - set(STAGE_ORDER))
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}: choose from {', '.join(STAGE_ORDER)}")
        return v

    def retry_for(self, stage: str) -> RetryPolicy:
        return self.stage_retry.get(stage, self.retry)
