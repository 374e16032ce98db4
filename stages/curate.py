"""DVC stage `curate`: fetch, cut and score a curated class's candidates; metrics/curation.json."""

from sound2video.core.entry import StageArgumentParser, exit_with
from sound2video.curation import stage

if __name__ == "__main__":
    ap = StageArgumentParser(__doc__)
    ap.add_argument("--root", default="data/curation", help="the curation folders' parent")
    ap.add_argument("--metrics", required=True, help="metrics JSON to write")
    a = ap.parse_args()
    exit_with(lambda: stage.main(a.params, a.root, a.metrics))
