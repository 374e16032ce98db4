"""DVC stage `train_inversion`: train the pSp-style encoder that inverts images into the generator's W+."""

from pathlib import Path

from sound2video.core.entry import StageArgumentParser
from sound2video.models.inversion import stage
from sound2video.training.launch import exit_with_launch

if __name__ == "__main__":
    ap = StageArgumentParser(__doc__)
    ap.add_argument("--generator", type=Path, required=True, help="the stylegan3 stage's output folder")
    ap.add_argument("--out", type=Path, required=True, help="model folder (model.safetensors + config.json)")
    ap.add_argument("--checkpoints", type=Path, required=True, help="checkpoint folder (kept across runs for resuming)")
    ap.add_argument("--metrics", type=Path, required=True)
    ap.add_argument("--plots", type=Path, required=True)
    a = ap.parse_args()
    paths = stage.InversionStagePaths(
        generator=a.generator, out=a.out, checkpoints=a.checkpoints, metrics=a.metrics, plots=a.plots
    )
    exit_with_launch(a.params, "train_inversion", lambda: stage.main_from_files(a.params, paths))
