"""The encoder losses of the video model (eq. 2, 3) and the optional paired latent term.

- ``clip_cosine_loss``: ``1 - cos(a, b)``, averaged: eq. 2 with the CLIP image embeddings of the rendered frames and
  the audio tower's embeddings of each frame's window (per-frame targets), and its text form with the class
  prompt's embedding (one target broadcast over the frames).
- ``temporal_consistency``: eq. 3's ``lambda_b`` term, ``||w_hat_t - w_bar||^2`` with ``w_bar`` the temporal mean of
  the clip's latents. Averaged over elements (not summed over the ``num_ws * w_dim`` entries) so its weight does not
  depend on the generator's latent size.
- ``latent_supervision``: the optional paired term, mean squared error toward the inversion encoder's latents of the
  real frames.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def clip_cosine_loss(image_emb: torch.Tensor, target_emb: torch.Tensor) -> torch.Tensor:
    """``mean(1 - cos(image_emb, target_emb))`` over the last axis; ``target_emb`` broadcasts (e.g. ``[1, D]``).
    Embeddings need not be normalised."""
    if image_emb.ndim < 1 or target_emb.shape[-1] != image_emb.shape[-1]:
        raise ValueError(f"embedding sizes differ: image {list(image_emb.shape)}, target {list(target_emb.shape)}")
    try:
        torch.broadcast_shapes(image_emb.shape, target_emb.shape)
    except RuntimeError:
        raise ValueError(
            f"target_emb {list(target_emb.shape)} does not broadcast to image_emb {list(image_emb.shape)}"
        ) from None
    return (1 - F.cosine_similarity(image_emb, target_emb, dim=-1)).mean()


def temporal_consistency(ws: torch.Tensor) -> torch.Tensor:
    """``mean over (B, T, entries) of (w_hat_t - w_bar)^2`` for ``ws [B, T, num_ws, w_dim]``,
    ``w_bar = mean_t w_hat_t``."""
    if ws.ndim != 4:
        raise ValueError(f"ws has shape {list(ws.shape)}, expected [B, T, num_ws, w_dim]")
    return (ws - ws.mean(dim=1, keepdim=True)).square().mean()


def latent_supervision(ws: torch.Tensor, target_ws: torch.Tensor) -> torch.Tensor:
    """Mean squared error between predicted ``ws`` and the target latents (same shape, e.g. ``[B, T, num_ws,
    w_dim]``); the target is not differentiated."""
    if ws.shape != target_ws.shape:
        raise ValueError(f"ws {list(ws.shape)} and target_ws {list(target_ws.shape)} differ in shape")
    return (ws - target_ws.detach()).square().mean()
