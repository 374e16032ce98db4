"""What the ``evaluate`` stage measures with: the trained video model, its generator, audio tower and CLIP
(``EvalModels``), built by ``load_models``; ablation rows load their own video model with ``load_video_only``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sound2video.core.fsutil import sha256_file


@dataclass
class EvalModels:
    """What the stage needs from the trained models (the loader builds it; tests stub it with tiny random ones)."""

    video: Any  # VideoModel: start/frames, fps, window_seconds, mel, resolution
    G: Any  # its frozen StyleGAN3 (mapping, synthesis, z_dim, num_ws, w_dim)
    clip: Any  # embed_frames(uint8) / embed_images([-1, 1] tensor), normalised
    text: dict[str, np.ndarray]  # class -> normalised prompt embedding
    embed_windows: Callable[[np.ndarray], np.ndarray]  # mel windows [n, n_mels, W] -> normalised [n, D]
    embed_audio: Callable[[np.ndarray, int], np.ndarray]  # (mono wave, rate) -> CLIP-space vector of the sound
    fingerprint: str  # changes when any weight changes (resumability key)
    describe: dict[str, Any] = field(default_factory=dict)
    offline: bool = False  # random-init generator / tiny CLIP: the numbers check plumbing


Loader = Callable[[Path, dict[str, str], str], EvalModels]
VideoLoader = Callable[[Path, str], Any]


def load_models(video_dir: Path, prompts: dict[str, str], device: str = "cpu") -> EvalModels:
    """The trained video model of ``video_dir`` (format ``video``), its audio tower and the tower's CLIP."""
    import torch

    from sound2video import models
    from sound2video.core.frozen_clip import class_text_embeddings, load_clip
    from sound2video.models.contract import read_config
    from sound2video.models.video.modeling_video import resolve_referenced

    video_dir = Path(video_dir)
    video = models.load(video_dir, device=device, expected_format="video")
    config = read_config(video_dir, "video")
    tower_dir = resolve_referenced(config["audio"], video_dir, "audio tower")
    tower = models.load(tower_dir, device=device, expected_format="audio")
    clip = load_clip(tower.clip_spec, device)
    names = sorted(prompts)
    table = class_text_embeddings(clip, [prompts[n] for n in names], tower.templates)

    def embed_windows(windows: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(np.asarray(windows, np.float32)).to(device)
            return torch.nn.functional.normalize(tower.tower.encoder(x), dim=-1).cpu().numpy()

    return EvalModels(
        video=video,
        G=video.G,
        clip=clip,
        text=dict(zip(names, table)),
        embed_windows=embed_windows,
        embed_audio=tower,
        fingerprint=sha256_file(video_dir / "model.safetensors"),
        describe={"video": str(video_dir), "audio": str(tower_dir), "clip": tower.clip_spec.model_dump()},
        offline=bool(recorded_offline_reasons(config, video_dir, tower.config)),
    )


def recorded_offline_reasons(config: dict[str, Any], video_dir: Path, tower_config: dict[str, Any]) -> list[str]:
    """Why this video model's figures only check the pipeline: ``train_video``'s record in its config; folders
    written before the record are judged from the generator's and the audio tower's configs."""
    from sound2video.models.contract import offline_reasons, read_config
    from sound2video.models.video.modeling_video import resolve_referenced

    if "offline_reasons" in config:
        return offline_reasons(config)
    generator = read_config(resolve_referenced(config["generator"], video_dir, "generator"), "stylegan3")
    return offline_reasons(generator) + offline_reasons(tower_config)


def load_video_only(path: Path, device: str = "cpu") -> Any:
    """An ablation's video model (format ``video``)."""
    from sound2video import models

    return models.load(path, device=device, expected_format="video")
