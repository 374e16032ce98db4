"""DVC stage `train_audio`: train the audio encoder into CLIP space, evaluate zero-shot and retrieval."""

from pathlib import Path

from sound2video.core.entry import StageArgumentParser
from sound2video.models.audio import stage
from sound2video.training.launch import exit_with_launch

if __name__ == "__main__":
    ap = StageArgumentParser(__doc__)
    ap.add_argument("--classes", type=Path, default=Path("data/classes.csv"))
    ap.add_argument("--shards", type=Path, required=True, help="the training data set's shard folder")
    ap.add_argument("--out", type=Path, required=True, help="model folder (model.safetensors + config.json)")
    ap.add_argument("--checkpoints", type=Path, required=True, help="checkpoint folder (kept across runs for resuming)")
    ap.add_argument("--metrics", type=Path, required=True)
    ap.add_argument("--plots", type=Path, required=True)
    a = ap.parse_args()
    paths = stage.AudioStagePaths(
        classes=a.classes, shards=a.shards, out=a.out, checkpoints=a.checkpoints, metrics=a.metrics, plots=a.plots
    )
    exit_with_launch(a.params, "train_audio", lambda: stage.main_from_files(a.params, paths))
