"""Params of the two baselines the evaluate stage trains or draws (a leaf: `params.py` and `baselines.py` both use
them, and the row registry sits between those two)."""

from __future__ import annotations

from pydantic import Field

from sound2video.core.params_base import StrictParams


class TraumerAIParams(StrictParams):
    """The TräumerAI-style baseline: an MLP from each window's audio-tower embedding straight to a W+ latent,
    trained with the CLIP losses only (no recurrence, no discriminators)."""

    steps: int = Field(200, ge=0, le=5000, description="training steps (0: untrained, offsets start near 0)")
    batch_size: int = Field(8, ge=1)
    lr: float = Field(1e-3, gt=0)
    hidden: int = Field(128, ge=1, description="width of the MLP's hidden layer")
    clip_av: float = Field(1.0, ge=0, description="weight of 1 - cos(CLIP image, audio embedding of the window)")
    clip_at: float = Field(1.0, ge=0, description="weight of 1 - cos(CLIP image, class prompt)")
    latent_reg: float = Field(0.1, ge=0, description="weight of ||w - w_avg||^2 (keeps latents in range)")
    seed: int = 0


class RandomWalkParams(StrictParams):
    step: float = Field(0.3, gt=0, description="std of the per-frame step in z space (z renormalised each frame)")
    psi: float = Field(0.7, gt=0, le=1, description="truncation of the mapped latents")
