"""Shared params base (leaf module)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictParams(BaseModel):
    """Base of every params block: unknown keys are errors and blocks are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
