"""Rendering latents through the frozen StyleGAN3 synthesis network, in chunks, gradients flowing to the latents.

Frames are rendered ``chunk`` latents at a time over the flattened ``B*T`` axis so that memory stays bounded for long
clips; with ``checkpoint=True`` each chunk's activations are dropped after its forward pass and recomputed during
backward (``torch.utils.checkpoint``), so training memory grows with the frames' pixels only, not with the
synthesis network's activations. The synthesis network is deterministic (StyleGAN3 has no noise inputs), which is
what makes recomputation exact.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.checkpoint import checkpoint as torch_checkpoint


def render_frames(
    synthesis: Callable[[torch.Tensor], torch.Tensor], ws: torch.Tensor, chunk: int = 8, checkpoint: bool = False
) -> torch.Tensor:
    """``ws [B, T, num_ws, w_dim]`` -> frames ``[B, T, C, R, R]`` (StyleGAN's nominal [-1, 1] range)."""
    if ws.ndim != 4:
        raise ValueError(f"ws has shape {list(ws.shape)}, expected [B, T, num_ws, w_dim]")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1 (got {chunk})")
    b, t = ws.shape[:2]
    if b * t == 0:
        raise ValueError(f"ws has no latents to render (shape {list(ws.shape)})")
    flat = ws.flatten(0, 1)
    use_ckpt = checkpoint and torch.is_grad_enabled() and flat.requires_grad
    frames = []
    for part in flat.split(chunk):
        frames.append(torch_checkpoint(synthesis, part, use_reentrant=False) if use_ckpt else synthesis(part))
    out = torch.cat(frames)
    if out.ndim != 4 or out.shape[0] != b * t:
        raise ValueError(f"synthesis returned shape {list(out.shape)} for {b * t} latents, expected [N, C, R, R]")
    return out.unflatten(0, (b, t))
