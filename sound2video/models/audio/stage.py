"""The ``train_audio`` stage: features from shards, training (resumable), evaluation, model files, plots."""

from __future__ import annotations

import csv
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sound2video.core.frozen_clip import class_text_embeddings, load_clip
from sound2video.core.fsutil import atomic_path, write_metrics
from sound2video.core.params_io import label_table_for, load_block, read_yaml
from sound2video.data.classes import ClassTable
from sound2video.models.audio.configuration_audio import TrainAudioParams
from sound2video.models.audio.data import read_shards, shards_of
from sound2video.models.audio.held_out import read_held_out, restrict_to
from sound2video.models.audio.modeling_audio import save
from sound2video.models.audio.train import embed, train
from sound2video.models.audio.validation import evaluate
from sound2video.training import rank0_done, rank0_goes_first, world

log = logging.getLogger(__name__)


# what `dvc metrics show` lists; metrics/details/audio_train.json has everything (top-5, R@5, image-to-audio)
HEADLINE = ["zero_shot_top1", "a2i_r1"]


@dataclass(frozen=True)
class AudioStagePaths:
    """What the stage reads and writes."""

    classes: Path  # the class table (main_from_files puts the data set's label_tables entry here when given)
    shards: Path  # the training data set's shard folder
    out: Path  # the audio tower's model folder
    checkpoints: Path  # checkpoints and the feature cache (kept across runs for resuming)
    metrics: Path  # headline metrics file; the details go to <its folder>/details/<its name>
    plots: Path


@dataclass
class Features:
    """The train and evaluation features, the classes answered over and their prompts' CLIP embeddings."""

    train: Any  # data.Features
    test: Any
    split: str  # the evaluation split: test, or val when the shards have no test split
    names: list[str]
    text: np.ndarray  # [classes, D]
    coverage: dict[str, Any]  # held-out list coverage (empty without a held-out list)


def main_from_files(params_path: str | Path, paths: AudioStagePaths) -> dict[str, Any]:
    """The stage script's entry: the ``train_audio`` block of ``params_path`` and its data set's class table (all 309
    VGG-Sound labels in the paper profile), then ``main``."""
    params = load_block(params_path, "train_audio", TrainAudioParams)
    table = label_table_for(read_yaml(params_path), params.dataset, paths.classes, params_path)
    return main(params, replace(paths, classes=table))


def main(params: TrainAudioParams, paths: AudioStagePaths) -> dict[str, Any]:
    """Features, training, then (rank 0) evaluation and the model, metrics and confusion files."""
    import torch

    started = time.monotonic()
    table = ClassTable.read(paths.classes)
    clip = load_clip(params.clip_model)
    feats = features(params, paths, table, clip)
    log.info(
        "train_audio: %d train / %d %s clips, %d classes, features in %.1f s",
        len(feats.train.labels),
        len(feats.test.labels),
        feats.split,
        len(feats.names),
        time.monotonic() - started,
    )
    tower, _ = train(
        params, feats.train, torch.from_numpy(feats.text), paths.checkpoints, log_csv=paths.plots / "train_log.csv"
    )
    if not world().is_main:
        return {}  # rank 0 alone evaluates and writes the model, metrics and plots
    return evaluate_and_write(params, paths, table, tower, feats, started)


def features(params: TrainAudioParams, paths: AudioStagePaths, table: ClassTable, clip: Any) -> Features:
    """Mel and CLIP image features of the train and evaluation splits (cached), restricted to the held-out list and
    relabelled to the present classes when the params ask."""
    held_out = read_held_out(params.held_out_list) if params.held_out_list is not None else None
    eval_split = "test" if shards_of(paths.shards, "test") else "val"
    cache = paths.checkpoints / "features"
    cache.mkdir(parents=True, exist_ok=True)

    def read(split: str) -> Any:
        shards = shards_of(paths.shards, split)
        return read_shards(shards, params.mel, table.names, clip, params.num_workers, cache / f"{split}_mels.npy")

    rank0_goes_first()  # under torchrun rank 0 fills the feature cache (to rank0_done), the other ranks read it
    train_feats, test_feats = read("train"), read(eval_split)
    rank0_done()
    coverage: dict[str, Any] = {}
    if held_out is not None:
        test_feats, coverage = restrict_to(held_out, test_feats, train_feats)
    if params.label_set == "present":
        present = sorted(set(train_feats.labels) | set(test_feats.labels))
        for f in (train_feats, test_feats):
            f.labels = np.array([present.index(int(i)) for i in f.labels])
    else:
        present = list(range(len(table.names)))
    names = [table.names[i] for i in present]
    text = class_text_embeddings(clip, [table[n].prompt for n in names], params.prompt_templates)
    return Features(train_feats, test_feats, eval_split, names, text, coverage)


def evaluate_and_write(
    params: TrainAudioParams, paths: AudioStagePaths, table: ClassTable, tower: Any, feats: Features, started: float
) -> dict[str, Any]:
    """Zero-shot and retrieval figures on the evaluation split, the model folder, metrics and the confusion CSV."""
    test_audio = embed(tower, feats.test.mels)
    result: dict[str, Any] = dict(evaluate(test_audio, feats.text, feats.test.labels, feats.test.images))
    result["split"] = feats.split
    result |= feats.coverage
    save(
        tower,
        params,
        paths.out,
        {
            "classes": feats.names,
            "prompts": [table[n].prompt for n in feats.names],
            "trained_on": str(paths.shards),
            "steps": params.steps,
            "metrics": result,
        },
    )
    write_metrics(paths.metrics, result, HEADLINE, paths.metrics.parent / "details" / paths.metrics.name)
    predicted = (test_audio @ feats.text.T).argmax(axis=1)
    with atomic_path(paths.plots / "confusion.csv") as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["actual", "predicted"])
        w.writerows((feats.names[a], feats.names[p]) for a, p in zip(feats.test.labels, predicted))
    log.info(
        "train_audio: %s in %.1f s",
        {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()},
        time.monotonic() - started,
    )
    return result
