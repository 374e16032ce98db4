"""DVC stage `train_video`: train the sound-guided video generator (sound inversion encoder, recurrent coarse/mid/fine
blocks, image and video discriminators) on the Landscape shards; held-out metrics, model folder, plots."""

import argparse

from sound2video.models.video import stage
from sound2video.training.launch import exit_with_launch

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--shards", required=True, help="the Landscape shards folder (all splits)")
    ap.add_argument("--generator", required=True, help="the stylegan3 stage's model folder")
    ap.add_argument("--audio", required=True, help="the train_audio stage's model folder (F_a and the mel front-end)")
    ap.add_argument("--inversion", required=True, help="the train_inversion stage's model folder")
    ap.add_argument("--classes", default="data/classes.csv")
    ap.add_argument("--out", required=True, help="model folder (model.safetensors + config.json)")
    ap.add_argument("--checkpoints", required=True, help="checkpoint + cache folder (kept across runs)")
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--plots", required=True)
    a = ap.parse_args()
    exit_with_launch(
        a.params,
        "train_video",
        lambda: stage.main(
            a.params, a.shards, a.generator, a.audio, a.inversion, a.out, a.checkpoints, a.metrics, a.plots, a.classes
        ),
    )
