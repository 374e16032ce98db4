"""Held-out inversion metrics (Table 3b): LPIPS, MSE, PSNR, the ``w_avg`` baseline, and latent error for
self-inversion. Pixel range for MSE/PSNR: [-1, 1] (the generator's output range), PSNR peak-to-peak 2."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sound2video.metrics.image import mse as mse_fn
from sound2video.metrics.image import psnr as psnr_fn
from sound2video.metrics.image import to_uint8
from sound2video.models.inversion.images import ImageSet
from sound2video.models.inversion.losses import LpipsLoss
from sound2video.models.inversion.modeling_inversion import Inverter, to_model_input


@torch.inference_mode()
def evaluate(
    inverter: Inverter, G: Any, val: ImageSet, lpips: LpipsLoss, keep: np.ndarray, batch: int = 16
) -> tuple[dict[str, Any], np.ndarray]:
    """Metrics overall and per source, batch by batch, and the reconstructions of the images ``keep`` (the grid)."""
    avg_img = G.synthesis(G.mapping.w_avg.reshape(1, 1, -1).repeat(1, G.num_ws, 1)).float()
    ours: dict[str, list[np.ndarray]] = {"mse": [], "psnr": [], "lpips": []}
    base: dict[str, list[np.ndarray]] = {"mse": [], "psnr": [], "lpips": []}
    latents, kept = [], {}
    for i in range(0, len(val), batch):
        target = to_model_input(np.asarray(val.images[i : i + batch]))
        ws = inverter(target)
        recon = G.synthesis(ws).float()
        for out, image in ((ours, recon), (base, avg_img.expand_as(target))):
            out["mse"].append(mse_fn(image, target).numpy())
            out["psnr"].append(psnr_fn(image, target).numpy())
            out["lpips"].append(lpips(image, target).numpy())
        latents.append(ws.numpy())
        kept |= {j: recon[j - i].numpy() for j in keep if i <= j < i + len(target)}
    ours_np = {k: np.concatenate(v) for k, v in ours.items()}
    base_np = {k: np.concatenate(v) for k, v in base.items()}
    ws_all = np.concatenate(latents)

    def summary(sel: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {"images": int(sel.sum())}
        for k in ("lpips", "mse", "psnr"):
            out[k] = float(ours_np[k][sel].mean())
            out[f"{k}_wavg"] = float(base_np[k][sel].mean())
        if val.latents is not None:
            truth = val.latents[sel]
            known = ~np.isnan(truth).any(axis=(1, 2))
            if known.any():
                w_avg = G.mapping.w_avg.numpy()
                out["latent_mse"] = float(((ws_all[sel][known] - truth[known]) ** 2).mean())
                out["latent_mse_wavg"] = float(((w_avg - truth[known]) ** 2).mean())
        return out

    sources = np.array(val.sources)
    result = summary(np.ones(len(val), dtype=bool))
    result["by_source"] = {s: summary(sources == s) for s in sorted(set(val.sources))}
    return result, np.stack([kept[j] for j in keep])


def image_grid(inputs: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """Two rows: inputs (uint8 [N, R, R, 3]) above their reconstructions (float [N, 3, R, R] in [-1, 1])."""
    rec = to_uint8(torch.from_numpy(recon))
    return np.concatenate([np.concatenate(list(inputs), axis=1), np.concatenate(list(rec), axis=1)], axis=0)
