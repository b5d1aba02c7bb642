"""Config section `encode` (owned by the encode stage; see flows/stages/encode.py)."""

from pydantic import BaseModel, ConfigDict, Field


class EncodeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[str] = Field(default_factory=list, description="input files or globs")
