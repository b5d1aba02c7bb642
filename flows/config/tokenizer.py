"""Config section `tokenizer` (owned by the tokenizer stage; see flows/stages/tokenizer.py)."""

from pydantic import BaseModel, ConfigDict, Field


class TokenizerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[str] = Field(default_factory=list, description="input files or globs")
