"""Params of the ``curate`` stage and commands: the class, its candidate pool, the cut, the scores' weights and the
automatic decision thresholds."""

from __future__ import annotations

from typing import Optional

from pydantic import Field, model_validator

from sound2video.core.frozen_clip import ClipModelSpec
from sound2video.core.params_base import StrictParams
from sound2video.data.cut.params import CutParams
from sound2video.data.sources.params import SyntheticParams


class DemoPoolParams(StrictParams):
    """The synthetic candidate pool of the demo: true clips of the class among labelled distractors."""

    true_clips: int = Field(6, ge=1, description="renders of the class itself (picture and sound)")
    other_classes: list[str] = Field(default_factory=list, description="classes whose own clips are distractors")
    mismatched: int = Field(2, ge=0, le=50, description="per other class: class picture + its sound, and the reverse")
    silent: int = Field(1, ge=0, le=20, description="the class's picture without sound")
    static: int = Field(1, ge=0, le=20, description="the class's picture frozen on one frame")
    seed_exemplars: int = Field(2, ge=0, description="further true renders used as known-good exemplars")
    synthetic: SyntheticParams = Field(default_factory=SyntheticParams)


class WeightParams(StrictParams):
    """Weights of the combined score (each term is a cosine similarity in [-1, 1])."""

    audio_prompt: float = Field(0.0, ge=0, description="audio tower embedding vs the prompt's CLIP text embedding")
    frames_prompt: float = Field(0.0, ge=0, description="CLIP frame embedding vs the prompt's text embedding")
    audio_visual: float = Field(0.0, ge=0, description="audio embedding vs frame embedding of the same clip")
    exemplar_audio: float = Field(0.0, ge=0, description="mean audio similarity to accepted exemplars")
    exemplar_image: float = Field(0.0, ge=0, description="mean image similarity to accepted exemplars")
    exemplar_both: float = Field(
        1.0, ge=0, description="the lower of the two exemplar similarities: a clip must match in sound AND picture"
    )


class CurateParams(StrictParams):
    name: str = Field(description="the class being curated (a slug; see `sound2video curate new`)")
    prompt: str = Field(description="the class's text prompt for the zero-shot scores")
    candidates: Optional[str] = Field(
        None, description="candidate list (id,url,label CSV); null: the demo pool (data/curation/<name>/candidates.csv)"
    )
    exemplars: list[str] = Field(
        default_factory=list, description="lists (id,url,label CSVs) of known-good clips, e.g. a first review's accepts"
    )
    demo_pool: Optional[DemoPoolParams] = None
    cut: CutParams
    audio_model: str = Field("models/audio", description="the audio tower's model folder")
    clip_model: ClipModelSpec
    prompt_templates: list[str] = Field(default_factory=lambda: ["a photo of {}.", "the sound of {}.", "{}"])
    frames: int = Field(4, ge=1, le=64, description="frames per clip embedded with CLIP (mean of their embeddings)")
    weights: WeightParams = Field(default_factory=WeightParams)
    accept_above: float = Field(0.8, description="combined score at or above: accepted without review")
    reject_below: float = Field(0.4, description="combined score below: rejected without review")
    workers: int = Field(2, ge=1, le=64)

    @model_validator(mode="after")
    def _thresholds(self) -> CurateParams:
        if self.reject_below > self.accept_above:
            raise ValueError(f"reject_below {self.reject_below} must not exceed accept_above {self.accept_above}")
        if self.candidates is None and self.demo_pool is None:
            raise ValueError("give 'candidates' (a list) or 'demo_pool' (the synthetic demo)")
        return self
