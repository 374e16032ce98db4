"""DVC stage `stylegan3`: the frozen generator (official pickle -> our format, or random init offline)."""

from pathlib import Path

from sound2video.core.entry import StageArgumentParser, exit_with
from sound2video.models.stylegan3 import stage

if __name__ == "__main__":
    ap = StageArgumentParser(__doc__)
    ap.add_argument("--out", type=Path, required=True, help="output folder (model.safetensors + config.json)")
    a = ap.parse_args()
    exit_with(lambda: stage.main_from_files(a.params, a.out))
