"""Every params section and the class that validates it: adding a stage's params is one line here.

Per-data-set sections hold one block per name in ``datasets`` (``download.landscape``, ...); project-wide
sections hold one block (``train_audio``, ...).
"""

from __future__ import annotations

from pydantic import BaseModel

from sound2video.curation.params import CurateParams
from sound2video.data.cut.params import CutParams
from sound2video.data.download.params import DownloadParams
from sound2video.data.executor.params import ExecutorParams
from sound2video.data.shard.params import ShardParams
from sound2video.evaluation.params import EvaluateParams
from sound2video.models.audio.configuration_audio import TrainAudioParams
from sound2video.models.inversion.configuration_inversion import TrainInversionParams
from sound2video.models.stylegan3.configuration_stylegan3 import StyleGAN3Params
from sound2video.models.video.configuration_video import TrainVideoParams

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
