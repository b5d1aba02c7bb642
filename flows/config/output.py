"""Config section `output`: how a build guards its output root (see flows/output_lock.py and the
preflight in flows/stage_runner.py). Not part of any stage key: it changes no output byte."""

from pydantic import BaseModel, ConfigDict, Field


class OutputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lock_stale_minutes: float = Field(
        30.0, gt=0, description="a stage lock held by another host is taken over when its heartbeat "
        "(refreshed every 30 s) is older than this; a lock of a dead process on this host is taken over at once")
    check_free_space: bool = Field(
        True, description="refuse to start a stage when the output disk has less free space than its estimate")
    space_margin: float = Field(
        1.0, gt=0, description="multiplies the free-space estimate (input bytes × a per-stage factor)")
