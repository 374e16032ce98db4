"""Bytes fetched per kept clip: range-only downloads of the planned clip windows vs whole files, on a loopback server
that honours Range requests (tests/http_range.py) and counts the bytes it sends.

    .venv/bin/python benchmarks/range_downloads.py --minutes 10 --clips 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from http_range import serve  # noqa: E402
from media import ffmpeg  # noqa: E402

from sound2video.data.classes import ClassTable  # noqa: E402
from sound2video.data.download.params import DownloadParams  # noqa: E402
from sound2video.data.download.stage import run  # noqa: E402


def make_source(path: Path, seconds: float) -> None:
    """A 1280x720 30 fps H.264 + AAC video with a keyframe every 2 s (as streaming sites encode), index first."""
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=s=1280x720:r=30:d={seconds}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "28",
        "-g",
        "60",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-movflags",
        "+faststart",
        str(path),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the served video")
    ap.add_argument("--clips", type=int, default=3, help="10 s clips kept per video")
    ap.add_argument("--margin", type=float, default=1.0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="s2v-range-") as tmp:
        tmp_path = Path(tmp)
        www = tmp_path / "www"
        www.mkdir()
        make_source(www / "long.mp4", a.minutes * 60)
        server, base, sent = serve(www)
        pd.DataFrame({"u": [f"{base}/long.mp4"], "c": ["raining"]}).to_csv(tmp_path / "m.csv", index=False)
        results = {}
        for mode, ranges in (
            ("whole", None),
            ("ranged", {"clip_seconds": 10, "clips_per_video": a.clips, "margin_seconds": a.margin}),
        ):
            p = DownloadParams.model_validate(
                {
                    "classes": ["raining"],
                    "min_height": 720,
                    "workers": 1,
                    "retries": 0,
                    "ranges": ranges,
                    "source": {
                        "kind": "authors_csv",
                        "path": str(tmp_path / "m.csv"),
                        "columns": {"url": "u", "label": "c"},
                    },
                },
                context={"known_classes": ClassTable.read(ROOT / "data" / "classes.csv").names},
            )
            shutil.rmtree(tmp_path / "raw", ignore_errors=True)
            sent.clear()
            started = time.monotonic()
            row = run(p, ClassTable.read(ROOT / "data" / "classes.csv"), tmp_path / "raw").iloc[0]
            results[mode] = {
                "status": row["status"],
                "bytes_sent": sum(sent.values()),
                "file_bytes": int(row["bytes"]),
                "bytes_per_kept_clip": round(sum(sent.values()) / a.clips),
                "seconds": round(time.monotonic() - started, 2),
            }
        server.shutdown()
    results["video"] = {"minutes": a.minutes, "clips_kept": a.clips, "margin_seconds": a.margin}
    results["ratio_whole_over_ranged"] = round(results["whole"]["bytes_sent"] / results["ranged"]["bytes_sent"], 2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
