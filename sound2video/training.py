"""What every training loop here shares: seeded batches, the learning-rate schedule, the device choice, and
checkpoints that resume only when made by the same params and code.

A loop that derives each step's batch and randomness from (seed, step) and resumes from these checkpoints ends with
exactly the weights of an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import logging
import math
from pathlib import Path
from typing import Any, Iterable, Protocol

import torch

from .fsutil import atomic_path

log = logging.getLogger(__name__)


class Schedule(Protocol):
    lr: float
    steps: int
    warmup_steps: int


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def batch_indices(n: int, batch: int, step: int, seed: int) -> torch.Tensor:
    """The ``step``-th batch of a sequence of seeded epoch permutations (a function of its arguments only)."""
    per_epoch = max(1, n // batch)
    epoch, pos = divmod(step, per_epoch)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    return perm[pos * batch:(pos + 1) * batch]


def lr_at(step: int, params: Schedule) -> float:
    """Linear warm-up, then cosine decay to zero."""
    if step < params.warmup_steps:
        return params.lr * (step + 1) / params.warmup_steps
    progress_ = (step - params.warmup_steps) / max(1, params.steps - params.warmup_steps)
    return params.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress_)))


def code_fingerprint(params_json: str, files: Iterable[Path], *extra: str) -> str:
    """Hash of the params that decide the weights, the code that trains, and anything else (e.g. input hashes)."""
    h = hashlib.sha256(params_json.encode())
    for e in extra:
        h.update(e.encode())
    for f in sorted(files):
        h.update(f.name.encode() + f.read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()


def resume(path: Path, fingerprint: str, model: torch.nn.Module, opt: torch.optim.Optimizer,
           device: torch.device, name: str) -> tuple[int, list[dict[str, float]]]:
    """Load ``path`` into model and optimiser when it was made with ``fingerprint``: (next step, history)."""
    if not path.is_file():
        return 0, []
    state = torch.load(path, map_location=device, weights_only=True)
    if state.get("fingerprint") != fingerprint:
        log.info("%s: checkpoint was made with other params or code; starting over", name)
        return 0, []
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    log.info("%s: resuming from step %d", name, int(state["step"]))
    return int(state["step"]), list(state["history"])


def save_checkpoint(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, step: int,
                    history: list[dict[str, Any]], fingerprint: str) -> None:
    """Atomically write what ``resume`` needs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "history": history,
                    "fingerprint": fingerprint}, tmp)
