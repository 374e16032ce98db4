"""DVC stage `stylegan3`: the frozen generator (official pickle -> our format, or random init offline)."""

import argparse

from sound2video.core.entry import exit_with
from sound2video.models.stylegan3 import stage

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--out", required=True, help="output folder (model.safetensors + config.json)")
    a = ap.parse_args()
    exit_with(lambda: stage.main(a.params, a.out))
