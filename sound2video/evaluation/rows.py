"""The rows of the evaluation table, each registered once with its name, title and how its videos are made.

A row's function returns uint8 videos [N, F, R, R, 3] (video k driven by clip k's sound, seeded ``seed + k``).
Registration order is the default order of ``evaluate.rows``; the params, the table, the plots, the protocol and
the report all read this registry. Heavy imports (torch, the baselines) stay inside the functions, so the params
module can import the names and titles cheaply. Adding a row: one function here under ``@register_row``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class RowInputs:
    """What every row's videos are made from."""

    models: Any  # loading.EvalModels: the trained video model, its generator, CLIP and audio tower
    cache: Any  # the video cache the evaluated clips come from (its train split feeds the TräumerAI baseline)
    clips: Any  # stage.Clips: the evaluated clips (cache rows, keys, classes, mel windows, frames per video)
    params: Any  # EvaluateParams
    plots: Path  # where a row writes its side outputs (the TräumerAI training log)
    video: Any = None  # the video model the row generates with: the trained one, or an ablation row's own


Generate = Callable[[RowInputs], "np.ndarray"]


def _no_params(params: Any) -> tuple[Any, ...]:
    return ()


@dataclass(frozen=True)
class Row:
    name: str
    title: str
    generate: Generate
    cached: bool = True  # its videos are kept under <work>/rows/<name>-<key>.npy (the real row reads the cache)
    ablation_mode: Optional[str] = None  # a row of its own model, trained with train_video.recurrent.audio_mode=this
    key: Callable[[Any], tuple[Any, ...]] = _no_params  # params beyond clips, seed and weights that shape its videos

    def skip_note(self, folder: str) -> str:
        """Why an ablation row without its model is skipped, and how to make the model."""
        train = f"train it with `dvc exp run -S train_video.recurrent.audio_mode={self.ablation_mode}`"
        if not folder:
            return f"no model at (no path): {train} and set evaluate.ablation_models.{self.name} to its models/video"
        return f"no model at {folder}: {train} and copy its models/video to {folder}"


ROWS: dict[str, Row] = {}


def register_row(
    name: str,
    title: str,
    *,
    cached: bool = True,
    ablation_mode: Optional[str] = None,
    key: Callable[[Any], tuple[Any, ...]] = _no_params,
) -> Callable[[Generate], Generate]:
    """Decorator: register the function as row ``name`` (titled ``title`` in the table and the report)."""

    def register(generate: Generate) -> Generate:
        if name in ROWS:
            raise ValueError(f"evaluation row {name!r} is registered twice")
        ROWS[name] = Row(name, title, generate, cached, ablation_mode, key)
        return generate

    return register


def model_videos(video: Any, windows: list[np.ndarray], seed: int, zero_audio: bool = False) -> np.ndarray:
    """One video per clip from a video model: clip k's mel windows (or zeros), started from ``seed + k``."""
    import numpy as np

    out = []
    for k, w in enumerate(windows):
        frames, _ = video.frames(video.start(seed + k), np.zeros_like(w) if zero_audio else w)
        out.append(np.asarray(frames))
    return np.stack(out)


@register_row("real", "real test clips (reference)", cached=False)
def real_clips(inputs: RowInputs) -> np.ndarray:
    import numpy as np

    return np.asarray(inputs.cache.frames[inputs.clips.rows])


@register_row("model", "ours (trained model)")
def trained_model(inputs: RowInputs) -> np.ndarray:
    return model_videos(inputs.video, inputs.clips.windows, inputs.params.seed)


@register_row("zero_audio", "ours, audio zeroed at inference")
def zero_audio(inputs: RowInputs) -> np.ndarray:
    return model_videos(inputs.video, inputs.clips.windows, inputs.params.seed, zero_audio=True)


@register_row("no_sound", "ours without sound (trained without audio)", ablation_mode="none")
def trained_without_sound(inputs: RowInputs) -> np.ndarray:
    return model_videos(inputs.video, inputs.clips.windows, inputs.params.seed)


@register_row("first_step", "ours, audio at the first step only", ablation_mode="first_step")
def audio_at_first_step(inputs: RowInputs) -> np.ndarray:
    return model_videos(inputs.video, inputs.clips.windows, inputs.params.seed)


@register_row(
    "traumerai", "TräumerAI-style (per-window embedding -> latent)", key=lambda p: (p.traumerai.model_dump(),)
)
def traumerai(inputs: RowInputs) -> np.ndarray:
    """Train the baseline on every train-split window (its log to ``traumerai_train.csv``), then one latent per
    window of each evaluated clip."""
    import numpy as np

    from sound2video.core.fsutil import write_text_atomic
    from sound2video.evaluation.baselines import train_traumerai, traumerai_video

    cache, models = inputs.cache, inputs.models
    train_rows = cache.rows("train")
    if len(train_rows) == 0:
        raise ValueError("evaluate: the TräumerAI baseline needs train-split clips")
    mels = np.asarray(cache.mels[train_rows], np.float32)
    emb = models.embed_windows(mels.reshape(-1, *mels.shape[2:]))
    text = np.stack([models.text[cache.class_names[cache.labels[i]]] for i in train_rows for _ in range(mels.shape[1])])
    net, history = train_traumerai(models.G, models.clip, emb, text, inputs.params.traumerai)
    if history:
        lines = ["step,loss,clip_av,clip_at,latent_reg"] + [
            f"{h['step']},{h['loss']:.6f},{h['clip_av']:.6f},{h['clip_at']:.6f},{h['latent_reg']:.6f}" for h in history
        ]
        write_text_atomic(inputs.plots / "traumerai_train.csv", "\n".join(lines) + "\n")
    return np.stack([traumerai_video(net, models.G, models.embed_windows, w) for w in inputs.clips.windows])


@register_row("random_walk", "random latent walk (no audio, floor)", key=lambda p: (p.random_walk.model_dump(),))
def random_latent_walk(inputs: RowInputs) -> np.ndarray:
    import numpy as np

    from sound2video.evaluation.baselines import random_walk

    p = inputs.params
    frames = inputs.clips.frames
    return np.stack([random_walk(inputs.models.G, frames, p.seed + k, p.random_walk) for k in range(len(inputs.clips))])
