"""Cut stage throughput against a bare ffmpeg command line doing the same transcode on the same inputs.

Both sides cut the same clips with the same x264/AAC settings; the stage additionally writes FLAC, emits the
analysis frames, runs PySceneDetect, verifies every output with ffprobe and hashes it. Runs are interleaved
(bare, stage, bare, stage, ...) in one process so machine noise hits both alike; the ratio is median/median.

    python benchmarks/cut_throughput.py [--videos 3] [--seconds 20] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sound2video.core.fsutil import sha256_file  # noqa: E402
from sound2video.data.cut import stage  # noqa: E402
from sound2video.data.cut.params import CutParams
from sound2video.data.cut.plan import plan_clips  # noqa: E402
from sound2video.media.probe import probe  # noqa: E402


def make_sources(folder: Path, count: int, seconds: float) -> None:
    """1080p30 H.264 + AAC sources with moving, noisy content (so the encoder does real work)."""
    for i in range(count):
        subprocess.run(
            [
                "ffmpeg",
                "-nostdin",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=s=1920x1080:r=30:d={seconds},noise=alls=12:allf=t",
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency={300 + 100 * i}:sample_rate=48000:duration={seconds}",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-crf",
                "20",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                str(folder / f"src{i}.mp4"),
            ],
            check=True,
        )


def bare_argv(src: Path, start: float, out: Path, p: CutParams) -> list[str]:
    vf = (
        f"fps={p.fps},scale={p.width}:{p.height}:force_original_aspect_ratio=increase:flags=bicubic,"
        f"crop={p.width}:{p.height},setsar=1,format=yuv420p"
    )
    return [
        "ffmpeg",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-ss",
        f"{start}",
        "-t",
        f"{p.clip_seconds}",
        "-i",
        str(src),
        "-vf",
        vf,
        "-c:v",
        "libx264",
        "-preset",
        p.video.preset,
        "-crf",
        str(p.video.crf),
        "-threads",
        str(p.video.threads),
        "-c:a",
        "aac",
        "-b:a",
        p.audio.aac_bitrate,
        "-ar",
        str(p.audio.sample_rate),
        "-ac",
        str(p.audio.channels),
        "-frames:v",
        str(p.frames_per_clip),
        str(out),
    ]


def run_bare(sources: list[Path], p: CutParams, workers: int, out: Path) -> float:
    jobs = [
        (src, span.start, out / f"{src.stem}_{span.index}.mp4") for src in sources for span in plan_clips(probe(src), p)
    ]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda j: subprocess.run(bare_argv(j[0], j[1], j[2], p), check=True), jobs))
    return time.perf_counter() - t0


def run_stage(sources: list[Path], p: CutParams, out: Path) -> float:
    downloads = pd.DataFrame(
        [
            {
                "id": s.stem,
                "url": str(s),
                "class": "raining",
                "source_kind": "local_folder",
                "status": "ok",
                "path": s.name,
                "sha256": sha256_file(s),
            }
            for s in sources
        ]
    )
    t0 = time.perf_counter()
    ledger = stage.run(p, downloads, sources[0].parent, out)
    elapsed = time.perf_counter() - t0
    assert (ledger["status"] == "ok").all(), ledger[["key", "reason"]]
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clips-per-video", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    base = dict(
        clip_seconds=10,
        clips_per_video=a.clips_per_video,
        width=1280,
        height=720,
        fps=30,
        video={"crf": 23, "preset": "veryfast", "threads": 1},
        audio={"sample_rate": 44100, "channels": 2},
    )
    with tempfile.TemporaryDirectory(prefix="s2v-bench-") as tmp:
        tmp_path = Path(tmp)
        src_dir = tmp_path / "src"
        src_dir.mkdir()
        make_sources(src_dir, a.videos, a.seconds)
        sources = sorted(src_dir.glob("*.mp4"))
        n_clips = a.videos * a.clips_per_video
        times: dict[str, list[float]] = {k: [] for k in ("bare_1", "stage_1", "bare_2", "stage_2")}
        for rep in range(a.repeats):
            for workers in (1, 2):
                p = CutParams.model_validate(base | {"workers": workers})
                for kind in ("bare", "stage"):
                    out = tmp_path / f"{kind}_{workers}_{rep}"
                    out.mkdir()
                    t = run_bare(sources, p, workers, out) if kind == "bare" else run_stage(sources, p, out)
                    times[f"{kind}_{workers}"].append(t)
                    shutil.rmtree(out)
                    print(
                        f"rep {rep} {kind:5s} workers={workers}: {t:6.2f} s ({n_clips / t:.3f} clips/s)",
                        file=sys.stderr,
                    )
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "clips": n_clips,
        "clip": "10 s 1080p30 -> 1280x720 30 fps, x264 veryfast crf 23 1 thread, AAC 192k + FLAC",
        "median_seconds": {k: round(v, 2) for k, v in med.items()},
        "clips_per_second": {k: round(n_clips / v, 3) for k, v in med.items()},
        "stage_over_bare_1_worker": round(med["stage_1"] / med["bare_1"], 3),
        "stage_over_bare_2_workers": round(med["stage_2"] / med["bare_2"], 3),
        "stage_speedup_1_to_2_workers": round(med["stage_1"] / med["stage_2"], 3),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
