"""The ``stylegan3`` stage: the frozen generator every model stage renders through, in our format.

From a network file (an official pickle by path or URL, checked against ``sha256``) or, in offline profiles, a
randomly initialised StyleGAN3 whose ``w_avg`` is estimated from samples (its config says so).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sound2video.core.fsutil import sha256_file
from sound2video.core.params_io import load_block
from sound2video.models.stylegan3.configuration_stylegan3 import StyleGAN3Params

log = logging.getLogger(__name__)


def random_generator(r: Any) -> Any:
    """A seeded, randomly initialised generator with ``w_avg`` = mean of ``mapping(z)`` over ``w_avg_samples``."""
    import torch

    from sound2video.models.stylegan3.config import GeneratorConfig
    from sound2video.models.stylegan3.modeling_stylegan3 import Generator

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(r.seed)
        G = Generator(
            GeneratorConfig.preset(
                r.config,
                r.resolution,
                channel_base=r.channel_base,
                channel_max=r.channel_max,
                z_dim=r.z_dim,
                w_dim=r.w_dim,
                num_layers=r.num_layers,
                margin_size=r.margin_size,
            )
        ).eval()
        gen = torch.Generator().manual_seed(r.seed + 1)
        with torch.inference_mode():
            total = torch.zeros(r.w_dim, dtype=torch.float64)
            for i in range(0, r.w_avg_samples, 1000):
                z = torch.randn(min(1000, r.w_avg_samples - i), r.z_dim, generator=gen)
                total += G.mapping(z)[:, 0].double().sum(0)
        G.mapping.w_avg.copy_((total / r.w_avg_samples).float())
    return G.requires_grad_(False)


def main_from_files(params_path: str | Path, out_dir: Path) -> dict[str, Any]:
    """The stage script's entry: the ``stylegan3`` block of ``params_path``, then ``main``."""
    return main(load_block(params_path, "stylegan3", StyleGAN3Params), out_dir)


def main(params: StyleGAN3Params, out_dir: Path) -> dict[str, Any]:
    """Write the generator's model folder to ``out_dir``; returns its ``source`` record (``random_init`` says
    whether it is a randomly initialised stand-in)."""
    from sound2video.core.remote import resolve
    from sound2video.models.contract import WEIGHTS
    from sound2video.models.stylegan3.checkpoint import load_generator, save_generator

    if params.network is not None:
        local = resolve(params.network, params.sha256)  # downloaded once into the cache, checked when pinned
        digest = sha256_file(local)
        if params.sha256 is None:
            log.warning(
                "stylegan3: %s is not pinned; its sha256 is %s (set stylegan3.sha256 to pin it)", params.network, digest
            )
        G = load_generator(local, key=params.key)
        source = {"network": params.network, "sha256": digest, "key": params.key, "random_init": False}
    else:
        G = random_generator(params.random)
        source = {
            "random_init": True,
            **params.random.model_dump(),
            "note": "offline profile: randomly initialised, not a trained generator",
        }
    out = save_generator(G, out_dir, source=source)
    log.info(
        "stylegan3: %s -> %s (%s parameters, %dpx, num_ws %d, sha256 %s)",
        params.network or "random init",
        out,
        f"{G.param_count():,}",
        G.img_resolution,
        G.num_ws,
        sha256_file(Path(out) / WEIGHTS)[:12],
    )
    return source
