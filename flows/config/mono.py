"""Config section `mono` (owned by the mono stage; see flows/stages/mono.py)."""

from pydantic import BaseModel, ConfigDict, Field


class MonoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[str] = Field(default_factory=list, description="input files or globs")
