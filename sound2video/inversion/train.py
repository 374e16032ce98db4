"""Training loop of the inversion encoder (nanoGPT-style): deterministic per step, checkpointed, resumable.

Each step's batch and flips derive from (seed, step); checkpoints hold the encoder, the optimiser and the history,
so a run killed and resumed ends with exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..fsutil import atomic_path
from ..log import progress
from ..training import batch_indices, code_fingerprint, lr_at, resolve_device, resume, save_checkpoint
from .config import InvertLhqParams
from .losses import InversionLoss
from .model import Inverter, to_model_input

CHECKPOINT = "checkpoint.pt"
LOG_FIELDS = ["step", "loss", "l2", "lpips", "clip", "w_norm", "lr"]


def checkpoint_fingerprint(params: InvertLhqParams, generator_sha256: str) -> str:
    """Params (less bookkeeping), the generator's weights, and the code that trains and renders (this package and
    the StyleGAN3 package) decide the result."""
    here = Path(__file__).parent
    return code_fingerprint(params.model_dump_json(exclude={"checkpoint_every", "device", "grid_images"}),
                            [*here.glob("*.py"), *(here.parent / "models" / "stylegan3").glob("*.py")],
                            generator_sha256)


def train(params: InvertLhqParams, G: Any, images: np.ndarray, loss_fn: InversionLoss, ckpt_dir: Path,
          fingerprint: str, indices: np.ndarray | None = None, stop_after: int | None = None
          ) -> tuple[Inverter, list[dict[str, float]]]:
    """Train (or resume) to ``params.steps`` on the rows ``indices`` (default: all) of uint8 ``images``
    ``[N, R, R, 3]``, which may be a memory map: only each batch is read. ``stop_after`` ends early (tests use it
    to simulate an interruption)."""
    rows = np.arange(len(images)) if indices is None else np.asarray(indices, dtype=np.int64)
    device = resolve_device(params.device)
    torch.manual_seed(params.seed)
    inverter = Inverter(params.encoder, G.num_ws, G.w_dim, G.img_resolution, G.mapping.w_avg.cpu()).to(device)
    G = G.to(device).eval().requires_grad_(False)
    loss_fn = loss_fn.to(device)
    opt = torch.optim.AdamW(inverter.encoder.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    ckpt = ckpt_dir / CHECKPOINT
    start, history = resume(ckpt, fingerprint, inverter, opt, device, "invert_lhq")
    batch = min(params.batch_size, len(rows))
    inverter.train()
    with progress(total=params.steps, initial=start, desc="invert_lhq", unit="step") as bar:
        for step in range(start, params.steps):
            if stop_after is not None and step >= stop_after:
                break
            lr = lr_at(step, params)
            for group in opt.param_groups:
                group["lr"] = lr
            idx = rows[batch_indices(len(rows), batch, step, params.seed).numpy()]
            x = to_model_input(images[np.sort(idx)]).to(device)
            if params.hflip:
                flip = torch.rand(len(x), generator=torch.Generator().manual_seed(params.seed * 7_919 + step)) < 0.5
                x = torch.where(flip.to(device).view(-1, 1, 1, 1), x.flip(3), x)
            torch.manual_seed(params.seed * 104_729 + step)
            ws = inverter(x)
            loss, parts = loss_fn(x, G.synthesis(ws), ws)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(inverter.encoder.parameters(), params.grad_clip)
            opt.step()
            if (step + 1) % params.log_every == 0 or step + 1 == params.steps:
                history.append({"step": step + 1, "loss": loss.item(), **parts, "lr": lr})
                bar.set_postfix(loss=f"{loss.item():.4f}")
            if (step + 1) % params.checkpoint_every == 0 or step + 1 == params.steps:
                save_checkpoint(ckpt, inverter, opt, step + 1, history, fingerprint)
            bar.update()
    return inverter.cpu().eval(), history


def write_history(history: list[dict[str, float]], path: Path) -> None:
    """The training log as a CSV (DVC plot); losses with zero weight are left empty."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=LOG_FIELDS, restval="")
        w.writeheader()
        w.writerows(history)
