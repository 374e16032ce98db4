"""The cut stage on the local thread pool vs Dask distributed, on the same inputs: engine overhead at 2 workers and
the speed-up from 1 to 2 Dask workers. Every Dask run's clips and ledger are checked byte for byte against the local
run's.

Variants, interleaved in one process (local, dask-2, dask-2-running, dask-1, local, ...) so machine noise hits all
alike; figures are medians:
- local: ``executor: {kind: local}`` (threads), the stage's ``workers: 2``;
- dask-2: ``kind: dask``, a LocalCluster of 2 worker processes started and stopped by the stage (what a plain
  ``executor: {kind: dask}`` does), so its start-up is in the time;
- dask-2-running: the same 2-process cluster already running (``executor.address``), i.e. the per-item cost alone;
- dask-1: a LocalCluster of 1 worker process.

    python benchmarks/executor_overhead.py [--videos 6] [--seconds 6] [--repeats 2]
    python benchmarks/executor_overhead.py --sources DIR --only dask-2   # one variant, for whole-command timing
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
from collections.abc import Callable
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sound2video.core.fsutil import sha256_file  # noqa: E402
from sound2video.data.cut import stage  # noqa: E402
from sound2video.data.cut.params import CutParams  # noqa: E402
from sound2video.data.executor import ExecutorParams, open_executor  # noqa: E402


def make_sources(folder: Path, count: int, seconds: float) -> list[Path]:
    """640x360 30 fps H.264 + AAC sources with moving, noisy content (so the encoder does real work)."""
    for i in range(count):
        subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i"]
            + [f"testsrc2=s=640x360:r=30:d={seconds},noise=alls=12:allf=t", "-f", "lavfi", "-i"]
            + [f"sine=frequency={300 + 100 * i}:sample_rate=48000:duration={seconds}"]
            + ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac"]
            + [str(folder / f"src{i}.mp4")],
            check=True,
        )
    return sorted(folder.glob("*.mp4"))


def downloads(sources: list[Path]) -> pd.DataFrame:
    return pd.DataFrame(
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


def tree(folder: Path) -> dict[str, bytes]:
    return {str(f.relative_to(folder)): f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--sources", type=Path, help="keep the sources in this folder (made when empty) across calls")
    ap.add_argument("--only", choices=["local", "dask-2", "dask-2-running", "dask-1"], help="run one variant once")
    args = ap.parse_args()
    from distributed import LocalCluster

    p = CutParams.model_validate(
        dict(clip_seconds=2, clips_per_video=2, width=640, height=360, fps=30, workers=2, audio={"sample_rate": 48000})
    )
    work = Path(tempfile.mkdtemp(prefix="executor_bench_"))
    needed = args.only in (None, "dask-2-running")
    running = (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
        if needed
        else None
    )
    try:
        src = args.sources or work / "src"
        src.mkdir(parents=True, exist_ok=True)
        sources = sorted(src.glob("*.mp4")) or make_sources(src, args.videos, args.seconds)
        rows = downloads(sources)
        variants: dict[str, Callable[[], ExecutorParams]] = {
            "local": lambda: ExecutorParams(),
            "dask-2": lambda: ExecutorParams(kind="dask", n_workers=2),
            "dask-2-running": lambda: ExecutorParams(kind="dask", address=running.scheduler_address),  # type: ignore[union-attr]
            "dask-1": lambda: ExecutorParams(kind="dask", n_workers=1),
        }
        if args.only:
            variants = {args.only: variants[args.only]}
            args.repeats = 1
        times: dict[str, list[float]] = {k: [] for k in variants}
        reference: dict[str, bytes] | None = None
        clips = 0
        for rep in range(args.repeats):
            for name, make in variants.items():
                out = work / f"{name}-{rep}"
                t0 = time.perf_counter()
                with open_executor(make()) as executor:  # as the stage's main does: started and stopped in the time
                    ledger = stage.run(p, rows, src, out, executor)
                times[name].append(time.perf_counter() - t0)
                clips = int((ledger["status"] == "ok").sum())
                files = tree(out)
                if reference is None:
                    reference = files
                elif files != reference:
                    raise SystemExit(f"{name}: outputs differ from the first run's")
                shutil.rmtree(out)
        med = {k: statistics.median(v) for k, v in times.items()}
        if args.only:
            print(json.dumps({"clips": clips, "seconds": round(med[args.only], 2)}))
            return
        print(
            json.dumps(
                {
                    "clips": clips,
                    "seconds_median": {k: round(v, 2) for k, v in med.items()},
                    "seconds_all": {k: [round(x, 2) for x in v] for k, v in times.items()},
                    "dask2_over_local": round(med["dask-2"] / med["local"], 3),
                    "dask2_running_over_local": round(med["dask-2-running"] / med["local"], 3),
                    "speedup_dask_1_to_2": round(med["dask-1"] / med["dask-2"], 3),
                    "byte_identical": True,
                },
                indent=2,
            )
        )
    finally:
        if running is not None:
            running.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
