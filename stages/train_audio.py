"""DVC stage `train_audio`: train the audio encoder into CLIP space, evaluate zero-shot and retrieval."""

import argparse

from sound2video.models.audio import stage
from sound2video.training.launch import exit_with_launch

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--classes", default="data/classes.csv")
    ap.add_argument("--shards", required=True, help="the training data set's shard folder")
    ap.add_argument("--out", required=True, help="model folder (model.safetensors + config.json)")
    ap.add_argument("--checkpoints", required=True, help="checkpoint folder (kept across runs for resuming)")
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--plots", required=True)
    a = ap.parse_args()
    exit_with_launch(
        a.params,
        "train_audio",
        lambda: stage.main(a.params, a.classes, a.shards, a.out, a.checkpoints, a.metrics, a.plots),
    )
