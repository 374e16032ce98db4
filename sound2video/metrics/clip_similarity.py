"""CLIP similarities of Table 3a: text<->video and audio<->video cosine in CLIP space.

A video's embedding is the mean of its L2-normalised frame embeddings; the cosine with the (normalised) text or
audio embedding is then taken. Frames are preprocessed exactly as OpenAI's CLIP does: bicubic resize of the short
side (PIL), centre crop, scale to [0, 1], normalise with CLIP's mean and std.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

AudioEncoder = Callable[[np.ndarray, int], np.ndarray]  # (mono float32 waveform, sample rate) -> CLIP-space vector


def clip_preprocess(frames: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N, H, W, 3) -> float32 (N, 3, size, size), as OpenAI CLIP's transform does."""
    from PIL import Image

    out = np.empty((len(frames), 3, size, size), np.float32)
    mean = np.asarray(CLIP_MEAN, np.float32).reshape(3, 1, 1)
    std = np.asarray(CLIP_STD, np.float32).reshape(3, 1, 1)
    for i, frame in enumerate(frames):
        img = Image.fromarray(frame)
        w, h = img.size
        scale = size / min(w, h)
        img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BICUBIC)
        left, top = int(round((img.width - size) / 2.0)), int(round((img.height - size) / 2.0))
        img = img.crop((left, top, left + size, top + size))
        arr = np.asarray(img, np.float32).transpose(2, 0, 1) / 255.0
        out[i] = (arr - mean) / std
    return out


@dataclass
class ClipModel:
    """An open_clip model with its tokenizer, frozen, plus how it was loaded."""

    model: Any
    tokenizer: Any
    image_size: int
    name: str
    pretrained: str | None
    device: str

    def embed_frames(self, frames: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(clip_preprocess(frames, self.image_size)).to(self.device)
        with torch.inference_mode():
            e = self.model.encode_image(x).float()
        return torch.nn.functional.normalize(e, dim=-1).cpu().numpy()

    def embed_text(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            e = self.model.encode_text(self.tokenizer(texts).to(self.device)).float()
        return torch.nn.functional.normalize(e, dim=-1).cpu().numpy()


RANDOM_INIT_SEED = 0  # random-init CLIPs are seeded, so training, resuming and inference see the same model


def load_clip(name: str, pretrained: str | None = None, device: str = "cpu") -> ClipModel:
    """open_clip model by name, with a pretrained tag (e.g. 'openai') or a local checkpoint path, or random init
    (seeded with ``RANDOM_INIT_SEED`` without touching the caller's random state)."""
    import open_clip
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_INIT_SEED)
        model, _, _ = open_clip.create_model_and_transforms(name, pretrained=pretrained, device=device)
    model.eval()
    size = model.visual.image_size
    size = size[0] if isinstance(size, (tuple, list)) else int(size)
    return ClipModel(model, open_clip.get_tokenizer(name), size, name, pretrained, device)


def video_embedding(frame_embeddings: np.ndarray) -> np.ndarray:
    """Mean of normalised frame embeddings."""
    return np.asarray(frame_embeddings, np.float64).mean(axis=0)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
