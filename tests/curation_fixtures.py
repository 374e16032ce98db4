"""A small curation folder for the review and publish tests: three short clips with sound (ffmpeg test sources), a
scores ledger and a download ledger, as the curate stage writes them, without running the stage's models."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd

from sound2video.curation.classinfo import start

NAME = "frog_test"
ROWS = [  # id, automatic decision, score, quality
    ("true_000", "accept", 0.95, "ok"),
    ("true_001", "review", 0.70, "ok"),
    ("true_002", "review", 0.60, "ok"),
    ("sound_x_00", "review", 0.50, "ok"),
    ("other_x_00", "reject", -0.5, "ok"),
    ("silent_00", "reject", float("nan"), "silent_audio: RMS -inf dBFS below -60"),
]


def make_clip(path: Path, seconds: float = 1.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=64x48:rate=10:d={seconds}",
           "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=16000:d={seconds}", "-c:v", "libx264", "-preset",
           "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)]  # fmt: skip
    subprocess.run(cmd, check=True)


def make_curation(root: Path, classes_csv: Path) -> Path:
    """``root/NAME`` with class.json, work/scores.parquet, work/raw/ledger.parquet and the review clips."""
    where = start(NAME, "frog croaking", root, classes_csv, None, None)
    work = where / "work"
    rows = []
    for rank, (clip_id, auto, score, quality) in enumerate(ROWS, start=1):
        mp4 = f"{NAME}/{clip_id}_000.mp4"
        if quality == "ok" and auto == "review":
            make_clip(work / "clips" / mp4)
        rows.append(
            {
                "id": clip_id,
                "clip": f"{clip_id}_000",
                "mp4": mp4,
                "flac": mp4[:-3] + "flac",
                "quality": quality,
                "score": score,
                "auto": auto,
                "rank": rank,
            }  # fmt: skip
        )
    pd.DataFrame(rows).to_parquet(work / "scores.parquet")
    raw = pd.DataFrame({"id": [r[0] for r in ROWS], "url": [f"synthetic://frog_croaking/{i}?seed=7" for i in range(6)]})
    (work / "raw").mkdir(parents=True)
    raw.to_parquet(work / "raw" / "ledger.parquet")
    return where
