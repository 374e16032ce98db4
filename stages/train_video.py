"""DVC stage `train_video`: train the sound-guided video generator (sound inversion encoder, recurrent coarse/mid/fine
blocks, image and video discriminators) on the Landscape shards; held-out metrics, model folder, plots."""

from pathlib import Path

from sound2video.core.entry import StageArgumentParser
from sound2video.models.video import stage
from sound2video.training.launch import exit_with_launch

if __name__ == "__main__":
    ap = StageArgumentParser(__doc__)
    ap.add_argument("--shards", type=Path, required=True, help="the Landscape shards folder (all splits)")
    ap.add_argument("--generator", type=Path, required=True, help="the stylegan3 stage's model folder")
    ap.add_argument(
        "--audio", type=Path, required=True, help="the train_audio stage's model folder (F_a and the mel front-end)"
    )
    ap.add_argument("--inversion", type=Path, required=True, help="the train_inversion stage's model folder")
    ap.add_argument("--classes", type=Path, default=Path("data/classes.csv"))
    ap.add_argument("--out", type=Path, required=True, help="model folder (model.safetensors + config.json)")
    ap.add_argument("--checkpoints", type=Path, required=True, help="checkpoint + cache folder (kept across runs)")
    ap.add_argument("--metrics", type=Path, required=True)
    ap.add_argument("--plots", type=Path, required=True)
    a = ap.parse_args()
    paths = stage.VideoStagePaths(
        shards=a.shards,
        generator=a.generator,
        audio=a.audio,
        inversion=a.inversion,
        out=a.out,
        checkpoints=a.checkpoints,
        metrics=a.metrics,
        plots=a.plots,
        classes=a.classes,
    )
    exit_with_launch(a.params, "train_video", lambda: stage.main_from_files(a.params, paths))
