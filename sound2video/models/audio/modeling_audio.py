"""The trained audio tower as a model folder (``format: audio``) and as a ready-to-use object."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sound2video.core.frozen_clip import RANDOM_INIT_SEED, ClipModelSpec, class_text_embeddings, load_clip
from sound2video.models.audio.configuration_audio import AudioEncoderConfig, MelParams, TrainAudioParams
from sound2video.models.audio.encoder import AudioTower
from sound2video.models.audio.mel import fit_length, load_audio, log_mel
from sound2video.models.contract import write_model_folder

FORMAT, FORMAT_VERSION = "audio", 1


def save(tower: Any, params: TrainAudioParams, out_dir: Path, meta: dict[str, Any]) -> Path:
    """Write the model folder: weights, and everything inference needs (mel front-end, encoder, CLIP, prompts)."""
    return write_model_folder(
        out_dir,
        FORMAT,
        FORMAT_VERSION,
        {
            "mel": params.mel.model_dump(),
            "encoder": tower.encoder.cfg.model_dump(),
            "clip_model": params.clip_model.model_dump(),
            "clip_random_init_seed": RANDOM_INIT_SEED if params.clip_model.pretrained is None else None,
            "prompt_templates": params.prompt_templates,
            "embed_dim": int(tower.encoder.proj.out_features),
            **meta,
        },
        tower.state_dict(),
    )


@dataclass
class AudioClip:
    """A trained audio tower: embeds audio into CLIP space and classifies it zero-shot against text labels."""

    tower: Any
    mel: MelParams
    clip_spec: ClipModelSpec
    templates: list[str]
    config: dict[str, Any]
    _clip: Any = field(default=None, repr=False)

    def embed_wave(self, wave: np.ndarray) -> np.ndarray:
        """L2-normalised embedding of mono float32 audio already at ``mel.sample_rate``."""
        import torch

        device = next(self.tower.parameters()).device
        x = torch.from_numpy(log_mel(wave, self.mel))[None].to(device)
        with torch.inference_mode():
            return torch.nn.functional.normalize(self.tower.encoder(x), dim=-1)[0].cpu().numpy()

    def embed_file(self, path: str | Path) -> np.ndarray:
        return self.embed_wave(load_audio(Path(path).read_bytes(), self.mel, name=str(path)))

    def __call__(self, wave: np.ndarray, sample_rate: int) -> np.ndarray:
        """The audio-encoder callable the metrics take: (waveform, sample rate) -> CLIP-space vector."""
        if sample_rate != self.mel.sample_rate:
            import librosa

            wave = librosa.resample(np.asarray(wave, np.float32), orig_sr=sample_rate, target_sr=self.mel.sample_rate)
        return self.embed_wave(fit_length(np.asarray(wave, np.float32), self.mel.num_samples))

    def classify(self, path: str | Path, labels: list[str], k: int = 5) -> list[tuple[str, float]]:
        """Zero-shot: softmax over cosine similarities (scaled by the learned temperature) to each label's prompts."""
        if self._clip is None:
            self._clip = load_clip(self.clip_spec)
        text = class_text_embeddings(self._clip, labels, self.templates)
        dim = int(self.config["embed_dim"])
        if text.shape[1] != dim:
            raise ValueError(
                f"CLIP {self.clip_spec.model} embeds text in {text.shape[1]} dimensions but this audio "
                f"tower was trained for {dim}: the model's config.json names the wrong CLIP"
            )
        import torch

        with torch.no_grad():
            scale = self.tower.logit_scale().item()
        logits = scale * (text @ self.embed_file(path))
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        order = np.argsort(-probs)[:k]
        return [(labels[i], float(probs[i])) for i in order]


def from_contract(config: dict[str, Any], state: dict[str, Any], device: str = "cpu") -> AudioClip:
    """Build the tower of a model folder (``sound2video.models.load``); reads folders of format version 0 too."""
    if config["format_version"] == 0:  # before the contract: CLIP under "clip", residual shortcuts named "skip"
        config = {**config, "clip_model": config["clip"]}
        state = {k.replace(".skip.", ".shortcut."): v for k, v in state.items()}
    encoder = AudioEncoderConfig(**config["encoder"]).model_copy(update={"embed_dim": int(config["embed_dim"])})
    tower = AudioTower(encoder)
    tower.load_state_dict(state)
    tower.eval().to(device)
    return AudioClip(
        tower,
        MelParams(**config["mel"]),
        ClipModelSpec(**config["clip_model"]),
        list(config["prompt_templates"]),
        config,
    )
