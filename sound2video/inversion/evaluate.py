"""Held-out inversion metrics (Table 3b): LPIPS, MSE, PSNR, the ``w_avg`` baseline, and latent error for
self-inversion. Pixel range for MSE/PSNR: [-1, 1] (the generator's output range), PSNR peak-to-peak 2."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..metrics.image import mse as mse_fn, psnr as psnr_fn
from .images import ImageSet
from .losses import LpipsLoss
from .model import Inverter, to_model_input


@torch.inference_mode()
def reconstruct(inverter: Inverter, G: Any, images: np.ndarray, batch: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(reconstructions float [N, 3, R, R] in the generator's range, ws [N, num_ws, w_dim])."""
    recon, latents = [], []
    for i in range(0, len(images), batch):
        ws = inverter(to_model_input(images[i:i + batch]))
        recon.append(G.synthesis(ws).float())
        latents.append(ws)
    return torch.cat(recon).numpy(), torch.cat(latents).numpy()


def _image_metrics(target: torch.Tensor, recon: torch.Tensor, lpips: LpipsLoss) -> dict[str, np.ndarray]:
    with torch.inference_mode():
        return {"mse": mse_fn(recon, target).numpy(), "psnr": psnr_fn(recon, target).numpy(),
                "lpips": np.concatenate([lpips(recon[i:i + 16], target[i:i + 16]).numpy()
                                         for i in range(0, len(target), 16)])}


def evaluate(inverter: Inverter, G: Any, val: ImageSet, lpips: LpipsLoss) -> tuple[dict[str, Any], np.ndarray]:
    """Metrics overall and per source, and the reconstructions (for the grid)."""
    recon_np, ws = reconstruct(inverter, G, val.images)
    target = to_model_input(val.images)
    recon = torch.from_numpy(recon_np)
    with torch.inference_mode():
        avg_img = G.synthesis(G.mapping.w_avg.reshape(1, 1, -1).repeat(1, G.num_ws, 1)).float()
    ours = _image_metrics(target, recon, lpips)
    base = _image_metrics(target, avg_img.expand_as(target).contiguous(), lpips)

    def summary(sel: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {"images": int(sel.sum())}
        for k in ("lpips", "mse", "psnr"):
            out[k] = float(ours[k][sel].mean())
            out[f"{k}_wavg"] = float(base[k][sel].mean())
        if val.latents is not None:
            truth = val.latents[sel]
            known = ~np.isnan(truth).any(axis=(1, 2))
            if known.any():
                w_avg = G.mapping.w_avg.numpy()
                out["latent_mse"] = float(((ws[sel][known] - truth[known]) ** 2).mean())
                out["latent_mse_wavg"] = float(((w_avg - truth[known]) ** 2).mean())
        return out

    sources = np.array(val.sources)
    result = summary(np.ones(len(val), dtype=bool))
    result["by_source"] = {s: summary(sources == s) for s in sorted(set(val.sources))}
    return result, recon_np


def image_grid(inputs: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """Two rows: inputs (uint8 [N, R, R, 3]) above their reconstructions (float [N, 3, R, R] in [-1, 1])."""
    rec = np.clip(np.rint(recon.transpose(0, 2, 3, 1) * 127.5 + 128), 0, 255).astype(np.uint8)
    return np.concatenate([np.concatenate(list(inputs), axis=1), np.concatenate(list(rec), axis=1)], axis=0)
