"""Config section `parallel` (owned by the parallel stage; see flows/stages/parallel.py)."""

from pydantic import BaseModel, ConfigDict, Field


class ParallelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[str] = Field(default_factory=list, description="input files or globs")
