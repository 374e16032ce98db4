"""DVC stage `train_inversion`: train the pSp-style encoder that inverts images into the generator's W+."""

import argparse

from sound2video.models.inversion import stage
from sound2video.training.launch import exit_with_launch

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--generator", required=True, help="the stylegan3 stage's output folder")
    ap.add_argument("--out", required=True, help="model folder (model.safetensors + config.json)")
    ap.add_argument("--checkpoints", required=True, help="checkpoint folder (kept across runs for resuming)")
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--plots", required=True)
    a = ap.parse_args()
    exit_with_launch(
        a.params, "train_inversion", lambda: stage.main(a.params, a.generator, a.out, a.checkpoints, a.metrics, a.plots)
    )
