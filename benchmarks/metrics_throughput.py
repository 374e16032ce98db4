"""FVD feature extraction throughput: streaming from WebDataset shards versus pre-decoded tensors.

Both paths feed the same detector the same clips in the same batches; the streaming path also reads the tar and
decodes each mp4 with ffmpeg. The ratio streaming/pre-decoded is the decoding overhead. Runs are interleaved.

    python benchmarks/metrics_throughput.py [--clips 24] [--threads 2] [--detector i3d_torchscript.pt]

Without --detector a tiny random I3D (same call signature) is used, which makes decoding look relatively costly:
the real I3D does far more work per clip.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_shard(folder: Path, clips: int, size: str) -> Path:
    import webdataset as wds

    tar = folder / "bench-000000.tar"
    with wds.TarWriter(str(tar), mtime=0) as w:
        for i in range(clips):
            mp4 = folder / f"c{i}.mp4"
            subprocess.run(
                [
                    "ffmpeg",
                    "-nostdin",
                    "-v",
                    "error",
                    "-y",
                    "-f",
                    "lavfi",
                    "-i",
                    f"testsrc2=s={size}:r=30:d=1,hue=h={i * 15}",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "veryfast",
                    "-crf",
                    "23",
                    "-pix_fmt",
                    "yuv420p",
                    str(mp4),
                ],
                check=True,
            )
            w.write({"__key__": f"c{i:04d}", "mp4": mp4.read_bytes(), "json": {"i": i}})
    return tar


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--detector", help="I3D TorchScript (default: a tiny random one)")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()

    import torch

    from sound2video.metrics.detectors import load_torchscript
    from sound2video.metrics.fvd import i3d_features_fn, video_stats
    from sound2video.metrics.tiny import save_tiny
    from sound2video.metrics.videos import decode_frames, iter_videos

    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory(prefix="s2v-mbench-") as tmp:
        tmp_path = Path(tmp)
        tar = make_shard(tmp_path, a.clips, a.size)
        det_path = a.detector or str(save_tiny("i3d", tmp_path / "tiny.pt"))
        features = i3d_features_fn(load_torchscript(det_path, device=a.device).model, a.device)
        decoded = [decode_frames(item, 16) for item in iter_videos(str(tar))]
        batches = [np.stack(decoded[i : i + a.batch_size]) for i in range(0, len(decoded), a.batch_size)]
        features(batches[0])  # warm-up
        times: dict[str, list[float]] = {"predecoded": [], "streaming": []}
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            for b in batches:
                features(b)
            times["predecoded"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            stats, counts = video_stats(str(tar), features, 16, 1, a.batch_size)
            times["streaming"].append(time.perf_counter() - t0)
            assert counts["used"] == a.clips
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        json.dumps(
            {
                "clips": a.clips,
                "clip": f"16 frames of {a.size}",
                "threads": a.threads,
                "device": a.device,
                "detector": "tiny random I3D" if not a.detector else Path(a.detector).name,
                "clips_per_second": {k: round(a.clips / v, 2) for k, v in med.items()},
                "streaming_over_predecoded": round(med["streaming"] / med["predecoded"], 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
