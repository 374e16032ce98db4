"""Every params section and the class that validates it: adding a stage's params is one line here.

Per-data-set sections hold one block per name in ``datasets`` (``download.landscape``, ...); project-wide
sections hold one block (``train_audio``, ...).
"""

from __future__ import annotations

from pydantic import BaseModel

from .audio.params import TrainAudioParams
from .curation.params import CurateParams
from .cut.params import CutParams
from .download.params import DownloadParams
from .evaluation.params import EvaluateParams
from .executor.params import ExecutorParams
from .inversion.params import TrainInversionParams
from .models.stylegan3.params import StyleGAN3Params
from .shard.params import ShardParams
from .video.params import TrainVideoParams

PER_DATASET: dict[str, type[BaseModel]] = {
    "download": DownloadParams,
    "cut": CutParams,
    "shard": ShardParams,
}

PROJECT_WIDE: dict[str, type[BaseModel]] = {
    "train_audio": TrainAudioParams,
    "stylegan3": StyleGAN3Params,
    "train_inversion": TrainInversionParams,
    "train_video": TrainVideoParams,
    "evaluate": EvaluateParams,
    "executor": ExecutorParams,
    "curate": CurateParams,
}
