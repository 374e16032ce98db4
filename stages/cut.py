"""DVC stage `cut`: cut downloaded videos into exact audio-visual clips plus a clips ledger."""

from sound2video.core.entry import StageArgumentParser, exit_with
from sound2video.data.cut import stage

if __name__ == "__main__":
    ap = StageArgumentParser(__doc__)
    ap.add_argument("--dataset", required=True, help="which data set (a name from params.yaml: datasets)")
    ap.add_argument("--raw", required=True, help="the download stage's folder")
    ap.add_argument("--out", required=True, help="folder for clips and ledger.parquet")
    a = ap.parse_args()
    exit_with(lambda: stage.main(a.params, a.dataset, a.raw, a.out))
