"""Training of the inversion encoder on the shared loop (``sound2video.training``): each step's batch and flips
derive from (seed, step), so a run killed and resumed ends with exactly the weights of an uninterrupted one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from sound2video.core.stage_code import code_files
from sound2video.models.inversion.configuration_inversion import TrainInversionParams
from sound2video.models.inversion.losses import InversionLoss
from sound2video.models.inversion.modeling_inversion import Inverter, to_model_input
from sound2video.training import (
    TrainState,
    batch_indices,
    code_fingerprint,
    local_share,
    mean_over_ranks,
    optimize,
    resolve_device,
    step_generator,
    sync_batchnorm,
    train_loop,
)

CHECKPOINT = "checkpoint.pt"
LOG_FIELDS = ["step", "loss", "l2", "lpips", "clip", "w_norm", "lr"]


def checkpoint_fingerprint(params: TrainInversionParams, generator_sha256: str) -> str:
    """Params (less bookkeeping), the generator's weights, and the stage's code (generator, LPIPS and CLIP loaders
    included) decide the result."""
    return code_fingerprint(
        params.fingerprint_json(), code_files("sound2video.models.inversion.stage"), generator_sha256
    )


def train(
    params: TrainInversionParams,
    G: Any,
    images: np.ndarray,
    loss_fn: InversionLoss,
    ckpt_dir: Path,
    fingerprint: str,
    indices: np.ndarray | None = None,
    stop_after: int | None = None,
    log_csv: Path | None = None,
) -> tuple[Inverter, list[dict[str, float]]]:
    """Train (or resume) to ``params.steps`` on the rows ``indices`` (default: all) of uint8 ``images``
    ``[N, R, R, 3]``, which may be a memory map: only each batch is read. ``stop_after`` ends early (tests use it
    to simulate an interruption)."""
    rows = np.arange(len(images)) if indices is None else np.asarray(indices, dtype=np.int64)
    device = resolve_device(params.device)
    torch.manual_seed(params.seed)
    inverter = Inverter(params.encoder, G.num_ws, G.w_dim, G.img_resolution, G.mapping.w_avg.cpu()).to(device)
    sync_batchnorm(inverter)  # under torchrun ranks encode slices: BatchNorm statistics over the global batch
    G = G.to(device).eval().requires_grad_(False)
    loss_fn = loss_fn.to(device)
    opt = torch.optim.AdamW(inverter.encoder.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    state = TrainState({"inverter": inverter}, {"encoder": opt})
    batch = min(params.batch_size, len(rows))

    def step_fn(step: int) -> dict[str, float]:
        idx = rows[batch_indices(len(rows), batch, step, params.seed).numpy()]
        x = to_model_input(images[np.sort(idx)]).to(device)
        if params.hflip:
            flip = torch.rand(len(x), generator=step_generator(params.seed, step)) < 0.5
            x = torch.where(flip.to(device).view(-1, 1, 1, 1), x.flip(3), x)
        x = x[local_share(len(x))]  # under torchrun this rank's slice (every term is a mean over images)
        ws = inverter(x)
        loss, parts = loss_fn(x, G.synthesis(ws), ws)
        optimize(opt, loss, params.grad_clip)
        return {"loss": mean_over_ranks(loss.detach()), **{k: mean_over_ranks(v) for k, v in parts.items()}}

    train_loop(
        "train_inversion",
        params,
        state,
        step_fn,
        ckpt_dir / CHECKPOINT,
        fingerprint,
        log_fields=LOG_FIELDS,
        log_csv=log_csv,
        stop_after=stop_after,
        device=device,
    )
    return inverter.cpu().eval(), state.history
