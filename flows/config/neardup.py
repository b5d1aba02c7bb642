"""Config section `neardup` (owned by the neardup stage; see flows/stages/neardup.py)."""

from pydantic import BaseModel, ConfigDict, Field


class NearDupConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
