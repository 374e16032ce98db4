"""The ``train_audio`` stage: features from shards, training (resumable), evaluation, model files, plots."""

from __future__ import annotations

import csv
import logging
import time
from pathlib import Path

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


# what `dvc metrics show` lists; metrics/details/audio_train.json has everything
HEADLINE = ["zero_shot_top1", "zero_shot_top5", "a2i_r1", "a2i_r5", "i2a_r1", "i2a_r5"]


def main(
    params_path: str, classes_csv: str, shards_dir: str, out_dir: str, ckpt_dir: str, metrics: str, plots_dir: str
) -> dict:
    import torch

    params = load_block(params_path, "train_audio", TrainAudioParams)
    # the training data set's class table (label_tables.<dataset>: all 309 VGG-Sound labels in the paper profile)
    table = ClassTable.read(label_table_for(read_yaml(params_path), params.dataset, classes_csv, params_path))
    held_out = read_held_out(params.held_out_list) if params.held_out_list is not None else None
    started = time.monotonic()
    clip = load_clip(params.clip_model)
    eval_split = "test" if shards_of(shards_dir, "test") else "val"
    cache = Path(ckpt_dir) / "features"
    cache.mkdir(parents=True, exist_ok=True)
    rank0_goes_first()  # under torchrun rank 0 fills the feature cache (to rank0_done), the other ranks read it
    train_feats = read_shards(
        shards_of(shards_dir, "train"), params.mel, table.names, clip, params.num_workers, cache / "train_mels.npy"
    )
    test_feats = read_shards(
        shards_of(shards_dir, eval_split),
        params.mel,
        table.names,
        clip,
        params.num_workers,
        cache / f"{eval_split}_mels.npy",
    )
    rank0_done()
    coverage: dict = {}
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
    log.info(
        "train_audio: %d train / %d %s clips, %d classes, features in %.1f s",
        len(train_feats.labels),
        len(test_feats.labels),
        eval_split,
        len(names),
        time.monotonic() - started,
    )
    plots = Path(plots_dir)
    tower, _ = train(params, train_feats, torch.from_numpy(text), Path(ckpt_dir), log_csv=plots / "train_log.csv")
    if not world().is_main:
        return {}  # rank 0 alone evaluates and writes the model, metrics and plots
    test_audio = embed(tower, test_feats.mels)
    result = evaluate(test_audio, text, test_feats.labels, test_feats.images)
    result["split"] = eval_split
    result |= coverage
    save(
        tower,
        params,
        Path(out_dir),
        {
            "classes": names,
            "prompts": [table[n].prompt for n in names],
            "trained_on": str(shards_dir),
            "steps": params.steps,
            "metrics": result,
        },
    )
    write_metrics(metrics, result, HEADLINE, Path(metrics).parent / "details" / Path(metrics).name)
    predicted = (test_audio @ text.T).argmax(axis=1)
    with atomic_path(plots / "confusion.csv") as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["actual", "predicted"])
        w.writerows((names[a], names[p]) for a, p in zip(test_feats.labels, predicted))
    log.info(
        "train_audio: %s in %.1f s",
        {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()},
        time.monotonic() - started,
    )
    return result
