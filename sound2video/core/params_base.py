"""What every params block shares: the strict base model, the params error, common patterns, and the fields
every training stage has. A leaf: it imports nothing of this project."""

from __future__ import annotations

from typing import ClassVar, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEVICE_PATTERN = r"^(auto|cpu|cuda(:\d+)?)$"  # a stage's torch device; auto = CUDA when available
SHA256_PATTERN = r"^[0-9a-f]{64}$"


class ParamsError(ValueError):
    """Invalid params: the message names the key and what was expected."""


class StrictParams(BaseModel):
    """Base of every params block: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DistributedParams(StrictParams):
    """How many processes train together (``torchrun``; see ``training.distributed``)."""

    nproc_per_node: int = Field(
        1,
        ge=1,
        le=64,
        description="training processes on this machine: >1 relaunches the stage under torchrun --standalone "
        "(gloo on CPU, NCCL on GPUs); the global batch_size is split evenly over them",
    )


class TrainingParams(StrictParams):
    """The fields every training stage shares (a stage redeclares a field only to change its default)."""

    steps: int = Field(1000, ge=1)
    batch_size: int = Field(8, ge=1)
    lr: float = Field(1e-4, gt=0, description="peak learning rate (after warm-up, before the cosine decay)")
    weight_decay: float = Field(0.0, ge=0)
    warmup_steps: int = Field(0, ge=0)
    grad_clip: Optional[float] = Field(1.0, gt=0, description="max global gradient norm; null: no clipping")
    seed: int = Field(0, ge=0)
    checkpoint_every: int = Field(100, ge=1)
    log_every: int = Field(10, ge=1)
    device: str = Field("auto", pattern=DEVICE_PATTERN, description="auto: CUDA when available")
    distributed: DistributedParams = Field(default_factory=DistributedParams)

    # fields that never change the weights: left out of resume fingerprints (a stage adds its own). `distributed`
    # changes them only at float rounding (sums over ranks), so a run resumes across process counts.
    BOOKKEEPING: ClassVar[frozenset[str]] = frozenset({"checkpoint_every", "device", "distributed"})

    @model_validator(mode="after")
    def _batch_splits(self) -> TrainingParams:
        n = self.distributed.nproc_per_node
        if self.batch_size % n:
            raise ValueError(f"batch_size {self.batch_size} must be a multiple of distributed.nproc_per_node {n}")
        return self

    def fingerprint_json(self) -> str:
        """The params that decide the weights, as JSON (for resume fingerprints)."""
        return self.model_dump_json(exclude=set(self.BOOKKEEPING))
