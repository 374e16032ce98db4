"""DVC stage `download`: fetch the configured source into a folder of media files plus a ledger."""

from sound2video.core.entry import StageArgumentParser, exit_with
from sound2video.data.download import stage

if __name__ == "__main__":
    ap = StageArgumentParser(__doc__)
    ap.add_argument("--dataset", required=True, help="which data set (a name from params.yaml: datasets)")
    ap.add_argument("--classes", default="data/classes.csv")
    ap.add_argument("--out", required=True, help="folder for media files and ledger.parquet")
    a = ap.parse_args()
    exit_with(lambda: stage.main(a.params, a.classes, a.dataset, a.out))
