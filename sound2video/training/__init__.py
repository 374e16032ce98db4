"""The training core every training stage shares: named modules/optimisers/EMA copies in one ``TrainState``,
checkpoints that resume only when the fingerprint matches, and one loop (``train_loop``) that calls the stage's
step function."""

from .checkpoint import TrainState, code_fingerprint, resume, save_checkpoint
from .loop import optimize, train_loop, update_ema, write_history
from .schedule import batch_indices, lr_factor, resolve_device, step_generator

__all__ = [
    "TrainState",
    "batch_indices",
    "code_fingerprint",
    "lr_factor",
    "optimize",
    "resolve_device",
    "resume",
    "save_checkpoint",
    "step_generator",
    "train_loop",
    "update_ema",
    "write_history",
]
