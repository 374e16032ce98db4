"""The trained audio tower as files (safetensors weights + JSON config) and as a ready-to-use object."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..fsutil import atomic_path, write_json_atomic
from .config import ClipSpec, TrainAudioClipParams
from .mel import MelParams, load_audio, log_mel

WEIGHTS, CONFIG = "model.safetensors", "config.json"


def load_clip_spec(spec: ClipSpec, device: str = "cpu") -> Any:
    """The frozen CLIP of a spec (registering a custom JSON config first when given)."""
    from ..metrics.clip_similarity import load_clip

    if spec.config:
        import open_clip

        open_clip.add_model_config(spec.config)
    return load_clip(spec.model, spec.pretrained, device)


def class_text_embeddings(clip: Any, prompts: list[str], templates: list[str]) -> np.ndarray:
    """One L2-normalised row per prompt: the mean of its template embeddings (CLIP's prompt ensembling)."""
    rows = []
    for p in prompts:
        e = clip.embed_text([t.format(p) for t in templates]).mean(axis=0)
        rows.append(e / (np.linalg.norm(e) + 1e-12))
    return np.stack(rows).astype(np.float32)


def save(tower: Any, params: TrainAudioClipParams, out_dir: Path, meta: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in tower.state_dict().items()}
    with atomic_path(out_dir / WEIGHTS, suffix=".tmp.safetensors") as tmp:
        save_file(state, str(tmp))
    from ..metrics.clip_similarity import RANDOM_INIT_SEED

    write_json_atomic(out_dir / CONFIG, {
        "mel": params.mel.model_dump(), "encoder": params.encoder.model_dump(), "clip": params.clip.model_dump(),
        "clip_random_init_seed": RANDOM_INIT_SEED if params.clip.pretrained is None else None,
        "prompt_templates": params.prompt_templates, "embed_dim": int(tower.encoder.proj.out_features), **meta,
    })


@dataclass
class AudioClip:
    """A trained audio tower: embeds audio into CLIP space and classifies it zero-shot against text labels."""

    tower: Any
    mel: MelParams
    clip_spec: ClipSpec
    templates: list[str]
    config: dict[str, Any]
    _clip: Any = field(default=None, repr=False)

    def embed_wave(self, wave: np.ndarray) -> np.ndarray:
        """L2-normalised embedding of mono float32 audio already at ``mel.sample_rate``."""
        import torch

        x = torch.from_numpy(log_mel(wave, self.mel))[None]
        with torch.inference_mode():
            return torch.nn.functional.normalize(self.tower.encoder(x), dim=-1)[0].numpy()

    def embed_file(self, path: str | Path) -> np.ndarray:
        return self.embed_wave(load_audio(Path(path).read_bytes(), self.mel, name=str(path)))

    def __call__(self, wave: np.ndarray, sample_rate: int) -> np.ndarray:
        """The audio-encoder callable the metrics take: (waveform, sample rate) -> CLIP-space vector."""
        if sample_rate != self.mel.sample_rate:
            import librosa

            wave = librosa.resample(np.asarray(wave, np.float32), orig_sr=sample_rate, target_sr=self.mel.sample_rate)
        from .mel import fit_length

        return self.embed_wave(fit_length(np.asarray(wave, np.float32), self.mel.num_samples))

    def classify(self, path: str | Path, labels: list[str], k: int = 5) -> list[tuple[str, float]]:
        """Zero-shot: softmax over cosine similarities (scaled by the learned temperature) to each label's prompts."""
        if self._clip is None:
            self._clip = load_clip_spec(self.clip_spec)
        text = class_text_embeddings(self._clip, labels, self.templates)
        dim = int(self.config["embed_dim"])
        if text.shape[1] != dim:
            raise ValueError(f"CLIP {self.clip_spec.model} embeds text in {text.shape[1]} dimensions but this audio "
                             f"tower was trained for {dim}: the model's config.json names the wrong CLIP")
        import torch

        with torch.no_grad():
            scale = self.tower.logit_scale().item()
        logits = scale * (text @ self.embed_file(path))
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        order = np.argsort(-probs)[:k]
        return [(labels[i], float(probs[i])) for i in order]


def load(path: str | Path) -> AudioClip:
    """Load ``models/audio_clip/`` (or any folder written by ``save``)."""
    from safetensors.torch import load_file

    from .config import AudioEncoderConfig
    from .train import AudioTower

    folder = Path(path)
    if not (folder / WEIGHTS).is_file() or not (folder / CONFIG).is_file():
        raise FileNotFoundError(f"{folder}: expected {WEIGHTS} and {CONFIG} (run `dvc repro train_audio_clip`)")
    cfg = json.loads((folder / CONFIG).read_text())
    params = TrainAudioClipParams(mel=MelParams(**cfg["mel"]), encoder=AudioEncoderConfig(**cfg["encoder"]),
                                  clip=ClipSpec(**cfg["clip"]), prompt_templates=cfg["prompt_templates"])
    tower = AudioTower(params, cfg["embed_dim"])
    tower.load_state_dict(load_file(str(folder / WEIGHTS)))
    tower.eval()
    return AudioClip(tower, params.mel, params.clip, params.prompt_templates, cfg)
