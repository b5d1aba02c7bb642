"""Config section `wiki` (owned by the wiki stage; see flows/stages/wiki.py)."""

from pydantic import BaseModel, ConfigDict, Field


class WikiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: list[str] = Field(default_factory=list, description="input files or globs")
