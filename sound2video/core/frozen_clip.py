"""The frozen CLIP every stage shares: its params (``ClipModelSpec``), the loader (open_clip, imported lazily),
CLIP's preprocessing constants, and both preprocessings: OpenAI's PIL transform for uint8 frames (metrics) and a
differentiable one for [-1, 1] image tensors (losses).

Random-init CLIPs (offline profiles) are seeded, so training, resuming and inference see the same model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from pydantic import Field

from sound2video.core.log import verbose_requested
from sound2video.core.params_base import StrictParams

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
RANDOM_INIT_SEED = 0


class ClipModelSpec(StrictParams):
    """The frozen CLIP: an open_clip model name plus a pretrained tag or a local checkpoint, or a JSON config for a
    custom (e.g. tiny) architecture, randomly initialised when ``pretrained`` is null."""

    model: str = "ViT-B-32"
    pretrained: Optional[str] = "openai"
    config: Optional[str] = Field(None, description="JSON model config to register with open_clip first")


def clip_preprocess(frames: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N, H, W, 3) -> float32 (N, 3, size, size), as OpenAI CLIP's transform does: bicubic resize of the
    short side (PIL), centre crop, scale to [0, 1], normalise with CLIP's mean and std."""
    from PIL import Image

    out = np.empty((len(frames), 3, size, size), np.float32)
    mean = np.asarray(CLIP_MEAN, np.float32).reshape(3, 1, 1)
    std = np.asarray(CLIP_STD, np.float32).reshape(3, 1, 1)
    for i, frame in enumerate(frames):
        img = Image.fromarray(frame)
        w, h = img.size
        scale = size / min(w, h)
        img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.Resampling.BICUBIC)
        left, top = int(round((img.width - size) / 2.0)), int(round((img.height - size) / 2.0))
        img = img.crop((left, top, left + size, top + size))
        arr = np.asarray(img, np.float32).transpose(2, 0, 1) / 255.0
        out[i] = (arr - mean) / std
    return out


def clip_preprocess_tensor(images: Any, size: int) -> Any:
    """Differentiable: [-1, 1] float ``[N, 3, H, W]`` -> CLIP input (bicubic resize to ``size``, CLIP
    normalisation)."""
    import torch
    import torch.nn.functional as F

    x = (images + 1) / 2
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False)
    mean = torch.tensor(CLIP_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


@dataclass
class ClipModel:
    """An open_clip model with its tokenizer, frozen, plus how it was loaded."""

    model: Any
    tokenizer: Any
    image_size: int
    spec: ClipModelSpec
    device: str

    def embed_frames(self, frames: np.ndarray) -> np.ndarray:
        """L2-normalised embeddings of uint8 frames ``(N, H, W, 3)``."""
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

    def embed_images(self, images: Any) -> Any:
        """Differentiable, L2-normalised embeddings of [-1, 1] image tensors ``[N, 3, H, W]`` (gradients flow to
        the images, not into CLIP)."""
        import torch

        e = self.model.encode_image(clip_preprocess_tensor(images, self.image_size)).float()
        return torch.nn.functional.normalize(e, dim=-1)


class _DropRandomInitNotice(logging.Filter):
    """open_clip warns "No pretrained weights loaded ... initialized randomly" for every random-init model; with
    ``pretrained: null`` that is what the spec asks for (offline profiles, and their outputs say so), so the line
    is dropped there (``--verbose`` keeps it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No pretrained weights loaded for model")


_RANDOM_INIT_NOTICE = _DropRandomInitNotice()


def load_clip(spec: ClipModelSpec, device: str = "cpu") -> ClipModel:
    """The frozen CLIP of ``spec`` (registering its JSON config first when given), in eval mode without gradients;
    random init is seeded with ``RANDOM_INIT_SEED`` without touching the caller's random state."""
    import open_clip
    import torch

    if spec.config:
        open_clip.add_model_config(spec.config)
    quiet = spec.pretrained is None and not verbose_requested()
    root = logging.getLogger()
    if quiet:
        root.addFilter(_RANDOM_INIT_NOTICE)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)
            model, _, _ = open_clip.create_model_and_transforms(spec.model, pretrained=spec.pretrained, device=device)
    finally:
        root.removeFilter(_RANDOM_INIT_NOTICE)
    model.eval().requires_grad_(False)
    size = model.visual.image_size
    size = size[0] if isinstance(size, (tuple, list)) else int(size)
    return ClipModel(model, open_clip.get_tokenizer(spec.model), size, spec, device)


def class_text_embeddings(clip: ClipModel, prompts: list[str], templates: list[str]) -> np.ndarray:
    """One L2-normalised row per prompt: the mean of its template embeddings (CLIP's prompt ensembling)."""
    rows = []
    for p in prompts:
        e = clip.embed_text([t.format(p) for t in templates]).mean(axis=0)
        rows.append(e / (np.linalg.norm(e) + 1e-12))
    return np.stack(rows).astype(np.float32)
