"""The loop every training stage runs: per-step seeding, the lr schedule, the stage's step function, EMA copies,
history (and its CSV for the plots), checkpoint timing and the progress bar.

A stage's ``step_fn(step)`` computes its losses and calls ``optimize`` once per optimiser (a GAN: D, then G), with
batches and augmentations derived from (seed, step) alone; a run killed and resumed from its last checkpoint then
ends with exactly the weights of an uninterrupted run.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from sound2video.core.fsutil import atomic_path
from sound2video.core.log import progress
from sound2video.core.params_base import TrainingParams
from sound2video.training.checkpoint import TrainState, resume, save_checkpoint
from sound2video.training.distributed import RANK_SEED, average_gradients, device_for, world
from sound2video.training.schedule import lr_factor, resolve_device

STEP_SEED = 104_729  # torch is reseeded with seed * STEP_SEED + step before every step


def optimize(opt: torch.optim.Optimizer, loss: torch.Tensor, grad_clip: float | None) -> float:
    """Zero the gradients, backpropagate ``loss``, average the gradients over training processes (torchrun; see
    ``training.distributed``), clip the gradients of ``opt``'s parameters to ``grad_clip`` (global norm; None: no
    clipping), step; returns the gradient norm before clipping."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    average_gradients([p for group in opt.param_groups for p in group["params"]])
    params = [p for group in opt.param_groups for p in group["params"] if p.grad is not None]
    if grad_clip is not None:
        norm = torch.nn.utils.clip_grad_norm_(params, grad_clip)
    else:
        norm = (
            torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params]))
            if params
            else torch.zeros(())
        )
    opt.step()
    return float(norm)


def ema_decay_at(step: int, decay: float) -> float:
    """The EMA decay used after ``step``: ``decay``, ramped up from 0.1 as ``(1 + step) / (10 + step)`` so that early
    averages are not dominated by the random initialisation (TensorFlow's ``num_updates`` rule)."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def update_ema(ema: torch.nn.Module, module: torch.nn.Module, decay: float) -> None:
    """``ema = decay * ema + (1 - decay) * module`` for parameters; buffers (e.g. batch-norm statistics) copied."""
    for e, p in zip(ema.parameters(), module.parameters()):
        e.lerp_(p.detach(), 1.0 - decay)
    for eb, b in zip(ema.buffers(), module.buffers()):
        eb.copy_(b)


def write_history(history: list[dict[str, Any]], path: Path, fields: list[str]) -> None:
    """The training log as a CSV (a DVC plot), atomically; a field a row lacks is left empty."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(history)


def train_loop(
    name: str,
    params: TrainingParams,
    state: TrainState,
    step_fn: Callable[[int], dict[str, float]],
    ckpt_path: Path,
    fingerprint: str,
    *,
    log_fields: list[str],
    log_csv: Path | None = None,
    ema_decay: float = 0.999,
    stop_after: int | None = None,
    device: torch.device | None = None,
) -> TrainState:
    """Resume ``state`` from ``ckpt_path`` (when made with ``fingerprint``), then run ``step_fn`` for each step up
    to ``params.steps``; ``stop_after`` ends early (tests use it to simulate an interruption). ``step_fn`` returns
    its losses (floats or 0-d tensors, read only when logged); the history row is ``{"step", **losses, "lr"}``.
    Under torchrun every rank runs the loop and rank 0 alone writes the checkpoint and the CSV."""
    for opt in state.optimizers.values():
        for group in opt.param_groups:
            group.setdefault("base_lr", group["lr"])
    main = world().is_main
    resume(ckpt_path, fingerprint, state, device_for(device or resolve_device(params.device)), name)
    for module in state.modules.values():
        module.train()
    rank_seed = world().rank * RANK_SEED
    with progress(total=params.steps, initial=state.step, desc=name, unit="step", disable=not main or None) as bar:
        for step in range(state.step, params.steps):
            if stop_after is not None and step >= stop_after:
                break
            torch.manual_seed(params.seed * STEP_SEED + step + rank_seed)  # dropout and the like: per step and rank
            factor = lr_factor(step, params)
            for opt in state.optimizers.values():
                for group in opt.param_groups:
                    group["lr"] = group["base_lr"] * factor
            losses = step_fn(step)
            for key, ema in state.ema.items():
                update_ema(ema, state.modules[key], ema_decay_at(step, ema_decay))
            state.step = step + 1
            if state.step % params.log_every == 0 or state.step == params.steps:
                row = {k: float(v) for k, v in losses.items()}
                state.history.append({"step": state.step, **row, "lr": params.lr * factor})
                if row:
                    shown = "loss" if "loss" in row else next(iter(row))
                    bar.set_postfix({shown: f"{row[shown]:.4f}"})
            if main and (state.step % params.checkpoint_every == 0 or state.step == params.steps):
                save_checkpoint(ckpt_path, state, fingerprint)
            bar.update()
    if log_csv is not None and main:
        write_history(state.history, log_csv, log_fields)
    return state
