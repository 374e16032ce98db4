"""The training core every training stage shares: named modules/optimisers/EMA copies in one ``TrainState``,
checkpoints that resume only when the fingerprint matches, and one loop (``train_loop``) that calls the stage's
step function."""

from sound2video.training.checkpoint import TrainState, code_fingerprint, resume, save_checkpoint
from sound2video.training.distributed import (
    World,
    gather,
    local_share,
    mean_over_ranks,
    rank0_done,
    rank0_first,
    rank0_goes_first,
    sync_batchnorm,
    world,
)
from sound2video.training.loop import optimize, train_loop, update_ema, write_history
from sound2video.training.schedule import batch_indices, lr_factor, resolve_device, step_generator

__all__ = [
    "TrainState",
    "World",
    "batch_indices",
    "code_fingerprint",
    "gather",
    "local_share",
    "lr_factor",
    "mean_over_ranks",
    "optimize",
    "rank0_done",
    "rank0_first",
    "rank0_goes_first",
    "resolve_device",
    "resume",
    "save_checkpoint",
    "step_generator",
    "sync_batchnorm",
    "train_loop",
    "update_ema",
    "world",
    "write_history",
]
