"""``sound2video stylegan3 convert|info|sample``."""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from sound2video.metrics.image import to_uint8


def add_parsers(sub: argparse._SubParsersAction) -> None:
    sg = sub.add_parser(
        "stylegan3", help="StyleGAN3 generators: convert official pickles, inspect, sample"
    ).add_subparsers(dest="sub", required=True)

    cv = sg.add_parser("convert", help="official network pickle -> our format (safetensors + JSON), no code run")
    cv.add_argument("src", metavar="IN.pkl", help="official pickle, path or URL")
    cv.add_argument("out", metavar="OUT", help="output directory")
    cv.add_argument("--sha256", help="expected sha256 of IN")
    cv.add_argument("--key", default="G_ema", help="which network of the pickle (default G_ema)")
    cv.add_argument("--verify", action="store_true", help="render seed 0 with both and compare")
    cv.set_defaults(func=run_convert)

    info = sg.add_parser("info", help="config, per-layer table and parameter count of a generator")
    info.add_argument("path", help="official pickle or our format, path or URL")
    info.add_argument("--sha256")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.set_defaults(func=run_info)

    sm = sg.add_parser("sample", help="render a grid of images for some seeds")
    sm.add_argument("--network", required=True, help="official pickle or our format, path or URL")
    sm.add_argument("--sha256")
    sm.add_argument(
        "--seeds",
        default="0-7",
        help="e.g. 0-7 or 1,5,9 (z from numpy RandomState(seed), as the official gen_images.py)",
    )
    sm.add_argument("--psi", type=float, default=1.0, help="truncation psi (default 1: none)")
    sm.add_argument("--cutoff", type=int, default=None, help="truncate only the first N ws")
    sm.add_argument("--class", dest="class_idx", type=int, default=None, help="class index (conditional nets)")
    sm.add_argument("--translate", default="0,0", help="x,y in image widths (input transform)")
    sm.add_argument("--rotate", type=float, default=0.0, help="degrees (input transform)")
    sm.add_argument("--batch-size", type=int, default=4)
    sm.add_argument("--device", default="cpu")
    sm.add_argument("--impl", choices=["fast", "reference"], default="fast")
    sm.add_argument("--out", required=True, help="PNG grid (one row of up to ceil(sqrt(n)) images per line)")
    sm.set_defaults(func=run_sample)


def parse_seeds(text: str) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7]."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise ValueError(f"--seeds: {part!r} is not N or N-M (e.g. 0-7 or 1,5,9)")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise ValueError(f"--seeds: range {part!r} is empty")
        seeds.extend(range(lo, hi + 1))
    return seeds


def seed_latents(seeds: list[int], z_dim: int) -> np.ndarray:
    return np.stack([np.random.RandomState(s).randn(z_dim) for s in seeds]).astype(np.float32)


def image_grid(images: np.ndarray) -> np.ndarray:
    n, h, w, c = images.shape
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.zeros((rows * h, cols * w, c), dtype=np.uint8)
    for i, img in enumerate(images):
        r, q = divmod(i, cols)
        grid[r * h : (r + 1) * h, q * w : (q + 1) * w] = img
    return grid


def layer_table(G: Any) -> list[dict[str, Any]]:
    rows = []
    for layer in G.synthesis.layers():
        s = layer.spec
        rows.append(
            {
                "name": s.name,
                "in_channels": s.in_channels,
                "out_channels": s.out_channels,
                "in_size": s.in_size,
                "out_size": s.out_size,
                "in_rate": s.in_sampling_rate,
                "out_rate": s.out_sampling_rate,
                "up": s.up_factor,
                "down": s.down_factor,
                "up_taps": s.up_taps,
                "down_taps": s.down_taps,
                "cutoff": round(s.out_cutoff, 3),
                "half_width": round(s.out_half_width, 3),
                "padding": list(s.padding),
                "radial": s.down_radial,
                "gflop": round(s.conv_flops / 1e9, 2),
            }
        )
    return rows


def describe(G: Any) -> dict[str, Any]:
    inp = G.synthesis.input
    return {
        "config": G.config.to_dict(),
        "num_ws": G.num_ws,
        "parameters": G.param_count(),
        "tensors": len(G.state_dict()),
        "conv_gflop_per_image": round(sum(r["gflop"] for r in layer_table(G)), 1),
        "input": {
            "channels": inp.channels,
            "size": inp.size,
            "sampling_rate": inp.sampling_rate,
            "bandwidth": inp.bandwidth,
        },
        "layers": layer_table(G),
        "source": getattr(G, "source", {}),
    }


def run_info(a: argparse.Namespace) -> None:
    from sound2video.models.stylegan3.checkpoint import load_generator

    d = describe(load_generator(a.path, a.sha256))
    if a.json:
        print(json.dumps(d, indent=2))
        return
    cfg = d["config"]
    print(
        f"{a.path}: StyleGAN3 {'R' if cfg['use_radial_filters'] else 'T'}-like, {cfg['img_resolution']}px, "
        f"z_dim {cfg['z_dim']}, w_dim {cfg['w_dim']}, c_dim {cfg['c_dim']}, num_ws {d['num_ws']}, "
        f"channel_base {cfg['channel_base']}, channel_max {cfg['channel_max']}, conv_kernel {cfg['conv_kernel']}, "
        f"mapping layers {cfg['mapping']['num_layers']}"
    )
    print(
        f"parameters: {d['parameters']:,} in {d['tensors']} tensors; convolutions {d['conv_gflop_per_image']} "
        f"GFLOP per image"
    )
    i = d["input"]
    print(
        f"input: {i['channels']} channels, {i['size']}x{i['size']}, rate {i['sampling_rate']:g}, "
        f"bandwidth {i['bandwidth']:g}"
    )
    head = (
        f"{'layer':<14}{'ch in>out':>11}{'size in>out':>13}{'rate':>10}{'up/down':>9}{'taps':>7}{'cutoff':>9}"
        f"{'half-w':>9}{'padding':>20}{'radial':>8}{'GFLOP':>8}"
    )
    print(head)
    for r in d["layers"]:
        print(
            f"{r['name']:<14}{r['in_channels']:>5}>{r['out_channels']:<5}{r['in_size']:>6}>{r['out_size']:<6}"
            f"{r['in_rate']:>4}>{r['out_rate']:<5}{r['up']:>4}/{r['down']:<4}{r['up_taps']:>3}/{r['down_taps']:<3}"
            f"{r['cutoff']:>9.3f}{r['half_width']:>9.3f}{str(r['padding']):>20}{str(r['radial']):>8}"
            f"{r['gflop']:>8.2f}"
        )


def run_convert(a: argparse.Namespace) -> None:
    import torch

    from sound2video.core.fsutil import sha256_file
    from sound2video.core.remote import resolve
    from sound2video.models.stylegan3.checkpoint import load_generator, save_generator

    path = resolve(a.src, a.sha256)
    G = load_generator(path, key=a.key)
    out = save_generator(G, a.out, source={"file": Path(a.src).name, "sha256": sha256_file(path), "key": a.key})
    print(f"{a.src} [{a.key}] -> {out}: {G.param_count():,} parameters, {len(G.state_dict())} tensors")
    if a.verify:
        H = load_generator(out)
        z = torch.from_numpy(seed_latents([0], G.z_dim))
        c = torch.zeros([1, G.c_dim]) if G.c_dim else None
        with torch.inference_mode():
            diff = (G(z, c) - H(z, c)).abs().max().item()
        if diff != 0:
            raise RuntimeError(f"converted network differs from the pickle: max |diff| {diff:g}")
        print("verified: seed 0 renders identically")


def run_sample(a: argparse.Namespace) -> None:
    import torch

    from sound2video.core.fsutil import atomic_path
    from sound2video.models.stylegan3.checkpoint import load_generator

    seeds = parse_seeds(a.seeds)
    translate = [float(v) for v in a.translate.split(",")]
    if len(translate) != 2:
        raise ValueError(f"--translate: expected x,y (got {a.translate!r})")
    G = load_generator(a.network, a.sha256, device=a.device).set_impl(a.impl)
    if G.c_dim and a.class_idx is None:
        raise ValueError(f"the network is conditional ({G.c_dim} classes): give --class")
    if a.class_idx is not None and not 0 <= a.class_idx < max(G.c_dim, 1):
        raise ValueError(f"--class {a.class_idx} out of range: the network has {G.c_dim} classes")
    G.set_input_transform(tuple(translate), a.rotate)
    z_all = torch.from_numpy(seed_latents(seeds, G.z_dim)).to(a.device)
    images = []
    from tqdm import tqdm

    with torch.inference_mode():
        for i in tqdm(range(0, len(seeds), a.batch_size), desc="sample", unit="batch"):
            z = z_all[i : i + a.batch_size]
            c = None
            if G.c_dim:
                c = torch.zeros([len(z), G.c_dim], device=a.device)
                c[:, a.class_idx] = 1
            images.append(to_uint8(G(z, c, truncation_psi=a.psi, truncation_cutoff=a.cutoff)))
    from PIL import Image

    grid = image_grid(np.concatenate(images))
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out, suffix=".tmp.png") as tmp:
        Image.fromarray(grid.squeeze(-1) if grid.shape[-1] == 1 else grid).save(tmp, format="PNG")
    print(
        f"{out}: {len(seeds)} images ({', '.join(map(str, seeds[:8]))}{'...' if len(seeds) > 8 else ''}), psi {a.psi}"
    )
