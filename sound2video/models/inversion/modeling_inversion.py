"""The inversion encoder as a model folder (``format: inversion``) and as a ready-to-use image -> W+ inverter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sound2video.models.contract import write_model_folder
from sound2video.models.inversion.configuration_inversion import EncoderParams
from sound2video.models.inversion.encoder import GradualStyleEncoder

FORMAT, FORMAT_VERSION = "inversion", 1


class Inverter(nn.Module):
    """Encoder + the generator's ``w_avg``: ``ws = w_avg + encoder(image)``."""

    def __init__(self, params: EncoderParams, num_ws: int, w_dim: int, resolution: int, w_avg: torch.Tensor):
        super().__init__()
        self.params, self.resolution = params, resolution
        self.encoder = GradualStyleEncoder(params, num_ws, w_dim, resolution)
        self.register_buffer("w_avg", w_avg.detach().clone().reshape(w_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images) + self.w_avg


def save(inverter: Inverter, out_dir: Path, meta: dict[str, Any]) -> Path:
    return write_model_folder(
        out_dir,
        FORMAT,
        FORMAT_VERSION,
        {
            "encoder": inverter.params.model_dump(),
            "num_ws": inverter.encoder.num_ws,
            "w_dim": inverter.encoder.w_dim,
            "resolution": inverter.resolution,
            **meta,
        },
        inverter.state_dict(),
    )


def from_contract(config: dict[str, Any], state: dict[str, Any], device: str = "cpu") -> Inverter:
    """Build the inverter of a model folder (``sound2video.models.load``), in eval mode on ``device``."""
    inv = Inverter(
        EncoderParams(**config["encoder"]), config["num_ws"], config["w_dim"], config["resolution"], state["w_avg"]
    )
    inv.load_state_dict(state)
    return inv.eval().to(device)


def to_model_input(image_uint8: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float [N, 3, H, W] in [-1, 1]."""
    # a copy: the frames often come from a read-only memory-mapped cache (torch warns on non-writable arrays)
    x = torch.tensor(np.asarray(image_uint8)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1
