"""The trained video generator as a model folder (the project's model contract) and as a ready generator.

``models/video/`` holds the G side (sound inversion encoder + recurrent blocks, EMA weights) and a config naming the
frozen StyleGAN3, the audio tower (for its mel front-end) and, when used, the inversion encoder, each with its
sha256: loading checks them, so a video model never renders through a generator it was not trained with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..audio.mel import MelParams
from ..fsutil import sha256_file
from ..models.contract import write_model_folder
from .generator import GenState, SoundToLatents
from .params import RecurrentParams, SoundEncoderParams

FORMAT, FORMAT_VERSION = "video", 1


@dataclass
class VideoState:
    """One video's recurrent state plus its own noise stream (so chunked generation equals one pass)."""

    latents: GenState
    noise: torch.Generator


class VideoGenerator:
    """Sound -> frames: ``start`` a video, then feed it per-frame mel windows chunk by chunk (``frames``)."""

    def __init__(
        self,
        latents: SoundToLatents,
        G: Any,
        inverter: Any | None,
        mel: MelParams,
        fps: float,
        window_seconds: float,
        psi: float,
    ) -> None:
        self.latents, self.G, self.inverter = latents.eval(), G.eval(), inverter
        self.mel, self.fps, self.window_seconds, self.psi = mel, float(fps), float(window_seconds), float(psi)
        self.resolution = int(G.img_resolution)
        self.noise_dim = int(latents.noise_dim)

    def start(self, seed: int, psi: float | None = None, image: np.ndarray | None = None) -> VideoState:
        """Initial state: the start latent is a mapping sample at ``psi`` (seeded) or the inversion of ``image``."""
        gen = torch.Generator().manual_seed(int(seed))
        with torch.inference_mode():
            if image is not None:
                if self.inverter is None:
                    raise ValueError("this video model was trained without an inversion encoder: --image needs one")
                from ..inversion.model import to_model_input

                w = self.inverter(to_model_input(np.asarray(image)[None]))
            else:
                z = torch.randn(1, self.G.z_dim, generator=gen)
                w = self.G.mapping(z, None, truncation_psi=self.psi if psi is None else float(psi))
        return VideoState(self.latents.init_state(w), gen)

    def step_latents(self, state: VideoState, windows: np.ndarray) -> tuple[torch.Tensor, VideoState]:
        """Per-frame latents [n, num_ws, w_dim] for mel windows [n, n_mels, W] (state advanced); the windows are
        encoded in one batch, the recurrence steps frame by frame with one noise draw per frame."""
        with torch.inference_mode():
            mels = torch.from_numpy(np.asarray(windows, np.float32))[None]
            noise = torch.stack([torch.randn(self.noise_dim, generator=state.noise) for _ in range(len(windows))])
            ws, st = self.latents.steps(state.latents, mels, noise[None], smooth=True)
        return ws[0], VideoState(st, state.noise)

    def render(self, ws: torch.Tensor, batch: int = 8) -> np.ndarray:
        """uint8 frames [n, R, R, 3] from latents [n, num_ws, w_dim]."""
        out = []
        with torch.inference_mode():
            for i in range(0, len(ws), batch):
                img = self.G.synthesis(ws[i : i + batch])
                out.append((img.clamp(-1, 1) * 127.5 + 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.resolution, self.resolution, 3), np.uint8)

    def frames(self, state: VideoState, windows: np.ndarray) -> tuple[np.ndarray, VideoState]:
        ws, state = self.step_latents(state, windows)
        return self.render(ws), state


def save_video_model(generator: VideoGenerator, out_dir: Path, meta: dict[str, Any]) -> None:
    lat = generator.latents
    config = {
        "encoder": lat.enc_params.model_dump(),
        "recurrent": lat.rec.model_dump(),
        "num_ws": lat.num_ws,
        "w_dim": lat.w_dim,
        "n_mels": lat.n_mels,
        "window_frames": lat.window_frames,
        "mel": generator.mel.model_dump(),
        "fps": generator.fps,
        "window_seconds": generator.window_seconds,
        "psi": generator.psi,
        **meta,
    }
    write_model_folder(out_dir, FORMAT, FORMAT_VERSION, config, lat.state_dict())


def resolve_referenced(entry: dict[str, Any], folder: Path, what: str) -> Path:
    """A referenced model folder, checked against its recorded sha256: its recorded path as given (relative to the
    working directory, e.g. ``models/stylegan3`` from the repository), or as a sibling of the video model folder."""
    for candidate in (Path(entry["path"]), folder.parent / Path(entry["path"]).name):
        weights = candidate / "model.safetensors"
        if weights.is_file():
            if sha256_file(weights) != entry["sha256"]:
                raise ValueError(
                    f"{folder}: the {what} at {candidate} is not the one this model was trained with "
                    f"(sha256 differs); retrain with `dvc repro train_video`"
                )
            return candidate
    raise FileNotFoundError(f"{folder}: the {what} it needs is not at {entry['path']} (run `dvc pull` or `dvc repro`)")


def from_contract(config: dict[str, Any], state: dict[str, Any], device: str = "cpu") -> VideoGenerator:
    """Build the generator of a ``video`` model folder (``sound2video.models.load``): the G side from its weights,
    the StyleGAN3 and inversion encoder it names, checked by sha256."""
    from .. import models

    folder = Path(config.get("loaded_from", "models/video"))
    latents = SoundToLatents(
        SoundEncoderParams(**config["encoder"]),
        RecurrentParams(**config["recurrent"]),
        config["num_ws"],
        config["w_dim"],
        config["n_mels"],
        config["window_frames"],
    )
    latents.load_state_dict(state)
    G = models.load(resolve_referenced(config["generator"], folder, "generator"), device=device)
    inverter = None
    if config.get("inversion"):
        inverter = models.load(resolve_referenced(config["inversion"], folder, "inversion encoder"), device=device)
    return VideoGenerator(
        latents.to(device),
        G,
        inverter,
        MelParams(**config["mel"]),
        config["fps"],
        config["window_seconds"],
        config["psi"],
    )
