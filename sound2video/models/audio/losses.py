"""Contrastive losses into CLIP space, and SpecAugment.

``info_nce``: the symmetric CLIP loss for one-to-one pairs (audio<->image of the same clip).
``class_info_nce``: audio<->text where the texts are class prompts shared by many clips: audio->text is
cross-entropy over all class prompts; text->audio averages the log-likelihood over every clip of that class in the
batch (several positives), for each class present.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

MAX_LOGIT_SCALE = math.log(100.0)


class LogitScale(nn.Module):
    """A learnable temperature, stored as log(1/T) (CLIP starts at T = 0.07 and caps 1/T at 100)."""

    def __init__(self, init_temperature: float = 0.07):
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / init_temperature)))

    def forward(self) -> torch.Tensor:
        return self.log_scale.clamp(max=MAX_LOGIT_SCALE).exp()


def info_nce(a: torch.Tensor, b: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE for row-aligned pairs; inputs need not be normalised."""
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    logits = scale * a @ b.t()
    target = torch.arange(len(a), device=a.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


def class_info_nce(
    audio: torch.Tensor, class_text: torch.Tensor, labels: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """Symmetric audio<->text InfoNCE against the prompts of all classes (``class_text``: (K, D))."""
    a, t = F.normalize(audio, dim=-1), F.normalize(class_text, dim=-1)
    logits = scale * a @ t.t()  # (B, K)
    audio_to_text = F.cross_entropy(logits, labels)
    log_probs = F.log_softmax(logits.t(), dim=1)  # each class prompt over the batch's clips: (K, B)
    present = labels.unique()
    positives = (labels.unsqueeze(0) == present.unsqueeze(1)).float()  # (P, B)
    text_to_audio = -((log_probs[present] * positives).sum(1) / positives.sum(1)).mean()
    return (audio_to_text + text_to_audio) / 2


def spec_augment(
    mel: torch.Tensor,
    generator: torch.Generator,
    freq_masks: int = 2,
    time_masks: int = 2,
    max_freq: float = 0.15,
    max_time: float = 0.3,
) -> torch.Tensor:
    """Zero ``freq_masks`` bands of up to ``max_freq`` of the mel bins and ``time_masks`` spans of up to
    ``max_time`` of the frames, per example, drawing from ``generator`` (so runs are reproducible)."""
    out = mel.clone()
    b, n_mels, n_frames = out.shape
    for i in range(b):
        for size, dim, count in ((n_mels, 1, freq_masks), (n_frames, 2, time_masks)):
            limit = max(1, int(size * (max_freq if dim == 1 else max_time)))
            for _ in range(count):
                width = int(torch.randint(0, limit + 1, (1,), generator=generator))
                start = int(torch.randint(0, max(1, size - width + 1), (1,), generator=generator))
                if dim == 1:
                    out[i, start : start + width, :] = 0
                else:
                    out[i, :, start : start + width] = 0
    return out
