"""DVC stage `evaluate`: generate a video per test sound for the trained model, its ablations and the baselines;
FVD, IS, CLIP similarities, AV-Align and motion per row; protocol.json, per-row metrics, plots and the report."""

from pathlib import Path

from sound2video.core.entry import StageArgumentParser, exit_with
from sound2video.evaluation import stage

if __name__ == "__main__":
    ap = StageArgumentParser(__doc__)
    ap.add_argument("--shards", type=Path, required=True, help="the evaluated data set's shards folder (all splits)")
    ap.add_argument("--model", type=Path, required=True, help="the train_video stage's model folder")
    ap.add_argument("--classes", type=Path, default=Path("data/classes.csv"))
    ap.add_argument("--metrics", type=Path, required=True, help="folder of per-row metrics files (<row>.json)")
    ap.add_argument("--plots", type=Path, required=True, help="folder of per-metric CSVs comparing rows")
    ap.add_argument("--report", type=Path, required=True, help="report folder (index.html, videos/, protocol.json)")
    ap.add_argument(
        "--work", type=Path, required=True, help="kept between runs: generated rows, extracted sounds, timings"
    )
    a = ap.parse_args()
    paths = stage.EvaluatePaths(
        shards=a.shards,
        model=a.model,
        classes=a.classes,
        metrics=a.metrics,
        plots=a.plots,
        report=a.report,
        work=a.work,
    )
    exit_with(lambda: stage.main_from_files(a.params, paths))
