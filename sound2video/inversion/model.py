"""The inversion encoder as files (safetensors + JSON config) and as a ready-to-use image -> W+ inverter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..fsutil import atomic_path, write_json_atomic
from .config import EncoderParams
from .encoder import GradualStyleEncoder

WEIGHTS, CONFIG = "model.safetensors", "config.json"


class Inverter(nn.Module):
    """Encoder + the generator's ``w_avg``: ``ws = w_avg + encoder(image)``."""

    def __init__(self, params: EncoderParams, num_ws: int, w_dim: int, resolution: int, w_avg: torch.Tensor):
        super().__init__()
        self.params, self.resolution = params, resolution
        self.encoder = GradualStyleEncoder(params, num_ws, w_dim, resolution)
        self.register_buffer("w_avg", w_avg.detach().clone().reshape(w_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images) + self.w_avg


def save(inverter: Inverter, out_dir: Path, meta: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in inverter.state_dict().items()}
    with atomic_path(out_dir / WEIGHTS, suffix=".tmp.safetensors") as tmp:
        save_file(state, str(tmp))
    write_json_atomic(out_dir / CONFIG, {
        "encoder": inverter.params.model_dump(), "num_ws": inverter.encoder.num_ws, "w_dim": inverter.encoder.w_dim,
        "resolution": inverter.resolution, **meta})


def load(path: str | Path, device: str = "cpu") -> tuple[Inverter, dict[str, Any]]:
    """(inverter in eval mode, its config)."""
    from safetensors.torch import load_file

    path = Path(path)
    if not (path / CONFIG).is_file() or not (path / WEIGHTS).is_file():
        raise FileNotFoundError(f"{path}: not an inversion model folder (expected {WEIGHTS} and {CONFIG})")
    config = json.loads((path / CONFIG).read_text())
    state = load_file(str(path / WEIGHTS))
    inv = Inverter(EncoderParams(**config["encoder"]), config["num_ws"], config["w_dim"], config["resolution"],
                   state["w_avg"])
    inv.load_state_dict(state)
    return inv.eval().to(device), config


def to_model_input(image_uint8: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float [N, 3, H, W] in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(image_uint8)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1
