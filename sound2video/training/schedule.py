"""What decides a step, as functions of the step alone: the device, the batch, the augmentations' generator, the
learning-rate factor."""

from __future__ import annotations

import math

import torch

from sound2video.core.params_base import TrainingParams
from sound2video.training.distributed import device_for


def resolve_device(name: str) -> torch.device:
    """``auto``: CUDA when available, else the CPU; anything else is a torch device name. Under torchrun a bare
    ``cuda`` is this rank's GPU (``cuda:LOCAL_RANK``)."""
    if name == "auto":
        return device_for(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    return device_for(torch.device(name))


def batch_indices(n: int, batch: int, step: int, seed: int) -> torch.Tensor:
    """The ``step``-th batch of a sequence of seeded epoch permutations (a function of its arguments only)."""
    per_epoch = max(1, n // batch)
    epoch, pos = divmod(step, per_epoch)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    return perm[pos * batch : (pos + 1) * batch]


def step_generator(seed: int, step: int) -> torch.Generator:
    """A CPU generator for one step's augmentations (flips, masks), independent of the global random state."""
    return torch.Generator().manual_seed(seed * 7_919 + step)


def lr_factor(step: int, params: TrainingParams) -> float:
    """Multiplier of each optimiser's base learning rate: linear warm-up, then cosine decay to zero."""
    if step < params.warmup_steps:
        return (step + 1) / params.warmup_steps
    progress_ = (step - params.warmup_steps) / max(1, params.steps - params.warmup_steps)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress_)))
