"""The rows that are not our model: a random latent walk (no audio: the floor) and a TräumerAI-style baseline (each
window's audio-tower embedding mapped straight to a latent by a small MLP trained with the CLIP losses only; no
recurrence, no discriminators), both rendered through the same frozen StyleGAN3."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:  # the params module reads the row registry, whose rows call these baselines
    from sound2video.evaluation.baseline_params import RandomWalkParams, TraumerAIParams

log = logging.getLogger(__name__)


def render(G: Any, ws: torch.Tensor, batch: int = 16) -> np.ndarray:
    """uint8 frames [n, R, R, 3] from latents [n, num_ws, w_dim] (the generator's quantisation)."""
    out = []
    with torch.inference_mode():
        for i in range(0, len(ws), batch):
            img = G.synthesis(ws[i : i + batch])
            out.append((img.clamp(-1, 1) * 127.5 + 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy())
    return np.concatenate(out)


def random_walk(G: Any, frames: int, seed: int, params: RandomWalkParams) -> np.ndarray:
    """A seeded walk in z space (z_t = normalise(z_{t-1} + step * noise), rescaled to sqrt(z_dim)) mapped at psi."""
    gen = torch.Generator().manual_seed(int(seed))
    z = torch.randn(1, G.z_dim, generator=gen)
    zs = []
    for _ in range(frames):
        zs.append(z)
        z = z + params.step * torch.randn(1, G.z_dim, generator=gen)
        z = z / z.norm() * G.z_dim**0.5
    with torch.inference_mode():
        ws = G.mapping(torch.cat(zs), None, truncation_psi=params.psi)
    return render(G, ws)


class TraumerAI(nn.Module):
    """Embedding [B, D] -> W+ latent [B, num_ws, w_dim] = w_avg + MLP(embedding)."""

    def __init__(self, embed_dim: int, num_ws: int, w_dim: int, hidden: int, w_avg: torch.Tensor) -> None:
        super().__init__()
        self.num_ws, self.w_dim = num_ws, w_dim
        self.net = nn.Sequential(nn.Linear(embed_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, num_ws * w_dim))
        with torch.no_grad():  # start at w_avg: the untrained baseline is the average image, not noise
            self.net[-1].weight.mul_(0.01)
            self.net[-1].bias.zero_()
        self.register_buffer("w_avg", w_avg.detach().clone().float().reshape(1, 1, w_dim))

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return self.w_avg + self.net(e).view(-1, self.num_ws, self.w_dim)


def train_traumerai(
    G: Any, clip: Any, embeddings: np.ndarray, text: np.ndarray, params: TraumerAIParams
) -> tuple[TraumerAI, list[dict[str, float]]]:
    """Fit the baseline on training windows: ``embeddings`` [N, D] (normalised audio-tower embeddings of windows),
    ``text`` [N, D] (each window's class prompt embedding). ``clip.embed_images`` is CLIP's differentiable image
    embedding of [-1, 1] images. Seeded: the same inputs give the same network. Returns it and a loss history."""
    if len(embeddings) == 0:
        raise ValueError("traumerai: no training windows")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(params.seed)
        net = TraumerAI(embeddings.shape[1], G.num_ws, G.w_dim, params.hidden, G.mapping.w_avg)
        gen = torch.Generator().manual_seed(params.seed)
        opt = torch.optim.Adam(net.parameters(), lr=params.lr)
        e_all = torch.from_numpy(np.asarray(embeddings, np.float32))
        t_all = torch.from_numpy(np.asarray(text, np.float32))
        history = []
        G.requires_grad_(False)
        for step in range(params.steps):
            idx = torch.randint(len(e_all), (params.batch_size,), generator=gen)
            e, t = e_all[idx], t_all[idx]
            w = net(e)
            img = clip.embed_images(G.synthesis(w))
            av = (1 - (img * nn.functional.normalize(e, dim=-1)).sum(-1)).mean()
            at = (1 - (img * nn.functional.normalize(t, dim=-1)).sum(-1)).mean()
            reg = ((w - net.w_avg) ** 2).sum(-1).mean()
            loss = params.clip_av * av + params.clip_at * at + params.latent_reg * reg
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            history.append(
                {
                    "step": step,
                    "loss": loss.item(),
                    "clip_av": av.item(),
                    "clip_at": at.item(),
                    "latent_reg": reg.item(),
                }
            )
    if history:
        log.info("traumerai: %d steps, loss %.4f -> %.4f", params.steps, history[0]["loss"], history[-1]["loss"])
    return net.eval(), history


def traumerai_video(
    net: TraumerAI, G: Any, embed_windows: Callable[[np.ndarray], np.ndarray], windows: np.ndarray
) -> np.ndarray:
    """uint8 frames [F, R, R, 3]: frame t rendered from window t's embedding alone."""
    with torch.inference_mode():
        ws = net(torch.from_numpy(np.asarray(embed_windows(windows), np.float32)))
    return render(G, ws)
