"""``sound2video invert IMAGE --out recon.png --latent w.npy``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parsers(sub: argparse._SubParsersAction) -> None:
    inv = sub.add_parser("invert", help="invert an image into the generator's W+ with the trained encoder")
    inv.add_argument("image", help="any image PIL reads; centre-cropped to a square and Lanczos-resized")
    inv.add_argument("--model", default="models/inversion", help="the train_inversion stage's model folder")
    inv.add_argument("--generator", default=None, help="generator (default: the one the model was trained with)")
    inv.add_argument("--out", required=True, help="reconstruction PNG")
    inv.add_argument("--latent", help="save W+ as .npy [num_ws, w_dim]")
    inv.add_argument("--device", default="cpu")
    inv.set_defaults(func=run_invert)


def run_invert(a: argparse.Namespace) -> None:
    import numpy as np
    import torch
    from PIL import Image

    from sound2video.core.fsutil import atomic_path
    from sound2video.metrics.image import mse, psnr, to_uint8
    from sound2video.models import load
    from sound2video.models.contract import read_config
    from sound2video.models.inversion.images import prepare_image
    from sound2video.models.inversion.modeling_inversion import to_model_input
    from sound2video.models.stylegan3.checkpoint import load_generator

    if not Path(a.image).is_file():
        raise FileNotFoundError(f"{a.image}: no such image")
    inverter = load(a.model, a.device, expected_format="inversion")
    config = read_config(a.model)
    G = load_generator(a.generator or config["generator"]["path"], device=a.device)
    if (G.num_ws, G.w_dim, G.img_resolution) != (config["num_ws"], config["w_dim"], config["resolution"]):
        raise ValueError(
            f"generator {a.generator or config['generator']['path']} has num_ws/w_dim/resolution "
            f"{G.num_ws}/{G.w_dim}/{G.img_resolution}; the encoder was trained for "
            f"{config['num_ws']}/{config['w_dim']}/{config['resolution']}"
        )
    x = to_model_input(prepare_image(Path(a.image), G.img_resolution)[None]).to(a.device)
    with torch.inference_mode():
        ws = inverter(x)
        recon = G.synthesis(ws)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out, suffix=".tmp.png") as tmp:
        Image.fromarray(to_uint8(recon)[0]).save(tmp, format="PNG")
    if a.latent:
        with atomic_path(a.latent, suffix=".tmp.npy") as tmp, open(tmp, "wb") as f:
            np.save(f, ws[0].cpu().numpy())
    print(
        json.dumps(
            {
                "image": a.image,
                "out": str(out),
                "latent": a.latent,
                "mse": float(mse(recon, x)[0]),
                "psnr": float(psnr(recon, x)[0]),
            }
        )
    )
