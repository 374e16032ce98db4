"""DVC stage `shard`: pack ok clips into per-split WebDataset tars, a shard index and a data card."""

from sound2video.core.entry import StageArgumentParser, exit_with
from sound2video.data.shard import stage

if __name__ == "__main__":
    ap = StageArgumentParser(__doc__)
    ap.add_argument("--dataset", required=True, help="which data set (a name from params.yaml: datasets)")
    ap.add_argument("--classes", default="data/classes.csv")
    ap.add_argument("--raw", required=True, help="the download stage's folder (for its ledger)")
    ap.add_argument("--clips", required=True, help="the cut stage's folder")
    ap.add_argument("--out", required=True, help="folder for the shards and index.json")
    ap.add_argument("--card", required=True, help="card.json path (the full data card); card.md is written beside it")
    ap.add_argument("--metrics", required=True, help="JSON file for the card's headline numbers (DVC metrics)")
    a = ap.parse_args()
    exit_with(lambda: stage.main(a.params, a.classes, a.dataset, a.raw, a.clips, a.out, a.card, a.metrics))
