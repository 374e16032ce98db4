"""DVC stage `evaluate`: generate a video per test sound for the trained model, its ablations and the baselines;
FVD, IS, CLIP similarities, AV-Align and motion per row; protocol.json, per-row metrics, plots and the report."""

import argparse

from sound2video.core.entry import exit_with
from sound2video.evaluation import stage

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--shards", required=True, help="the evaluated data set's shards folder (all splits)")
    ap.add_argument("--model", required=True, help="the train_video stage's model folder")
    ap.add_argument("--classes", default="data/classes.csv")
    ap.add_argument("--metrics", required=True, help="folder of per-row metrics files (<row>.json)")
    ap.add_argument("--plots", required=True, help="folder of per-metric CSVs comparing rows")
    ap.add_argument("--report", required=True, help="report folder (index.html, videos/, protocol.json)")
    ap.add_argument("--work", required=True, help="kept between runs: generated rows, extracted sounds, timings")
    a = ap.parse_args()
    exit_with(lambda: stage.main(a.params, a.shards, a.model, a.classes, a.metrics, a.plots, a.report, a.work))
