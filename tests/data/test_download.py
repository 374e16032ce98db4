"""The download stage against a loopback HTTP server: real yt-dlp, real ffmpeg merges, real failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from media import ffmpeg, make_video

from sound2video.core.fsutil import sha256_file
from sound2video.data.classes import ClassTable
from sound2video.data.download.params import DownloadParams
from sound2video.data.download.stage import LEDGER_COLUMNS, PARTIAL_DIR, DownloadStageError, run
from sound2video.data.sources.ytdlp import classify_error, parse_rate
from sound2video.media.probe import probe


def serve_mp4(root: Path, name: str, size=(1280, 720), seconds=3.0) -> Path:
    # faststart: Python's http.server ignores Range requests, so the index must come first for ffmpeg to seek
    path = root / name
    make_video(path.with_suffix(".tmp.mp4"), size=size, seconds=seconds)
    ffmpeg("-i", str(path.with_suffix(".tmp.mp4")), "-c", "copy", "-movflags", "+faststart", str(path))
    path.with_suffix(".tmp.mp4").unlink()
    return path


def serve_hls_ladder(root: Path) -> Path:
    """An HLS master playlist with separate 720p and 360p video-only renditions and one audio rendition."""
    d = root / "hls"
    d.mkdir()
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=1280x720:r=10:d=4",
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:d=4",
        "-filter_complex",
        "[0:v]split=2[a][b];[b]scale=640:360[b2]",
        "-map",
        "[a]",
        "-map",
        "[b2]",
        "-map",
        "1:a",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:v:0",
        "1500k",
        "-b:v:1",
        "500k",
        "-b:a",
        "128k",
        "-f",
        "hls",
        "-hls_time",
        "2",
        "-hls_playlist_type",
        "vod",
        "-master_pl_name",
        "master.m3u8",
        "-var_stream_map",
        "v:0,agroup:aud v:1,agroup:aud a:0,agroup:aud",
        str(d / "out_%v.m3u8"),
    )
    return d / "master.m3u8"


def write_manifest(path: Path, rows: list[tuple[str, str]]) -> Path:
    pd.DataFrame(rows, columns=["link", "category"]).to_csv(path, index=False)
    return path


def params_for(manifest: Path, **overrides) -> DownloadParams:
    data = {
        "classes": ["raining", "thunderstorm"],
        "source": {"kind": "authors_csv", "path": str(manifest), "columns": {"url": "link", "label": "category"}},
        "retries": 0,
        "fragment_retries": 0,
        "extractor_retries": 0,
        "socket_timeout": 10,
        "workers": 2,
        "min_success_ratio": 0.5,
    }
    data.update(overrides)
    return DownloadParams.model_validate(data, context={"known_classes": ClassTable.read().names})


@pytest.fixture(autouse=True)
def _in_repo(repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)


def test_direct_hls_and_404(http_root, tmp_path):
    root, base = http_root
    direct = serve_mp4(root, "direct_rain.mp4")
    serve_hls_ladder(root)
    manifest = write_manifest(
        tmp_path / "DATASET.csv",
        [
            (f"{base}/direct_rain.mp4", "raining"),
            (f"{base}/hls/master.m3u8", "thunder"),  # a VGG-Sound style label, resolved through the class table
            (f"{base}/gone.mp4", "raining"),
        ],
    )
    out = tmp_path / "raw"
    ledger = run(params_for(manifest), ClassTable.read(), out)

    assert list(ledger.columns) == LEDGER_COLUMNS
    by_url = ledger.set_index("url")
    assert by_url.loc[f"{base}/gone.mp4", "status"] == "unavailable"
    assert "404" in by_url.loc[f"{base}/gone.mp4", "reason"]

    row = by_url.loc[f"{base}/direct_rain.mp4"]
    assert row["status"] == "ok" and row["class"] == "raining"
    assert (row["width"], row["height"], row["vcodec"], row["acodec"]) == (1280, 720, "h264", "aac")
    assert row["sha256"] == sha256_file(out / row["path"]) and row["bytes"] == (out / row["path"]).stat().st_size
    assert abs(row["duration"] - probe(direct).duration) < 0.05

    hls = by_url.loc[f"{base}/hls/master.m3u8"]
    assert hls["status"] == "ok" and hls["class"] == "thunderstorm"
    merged = probe(out / hls["path"])
    assert (merged.width, merged.height) == (1280, 720), "the 720p rendition must be chosen over 360p"
    assert merged.has_audio and merged.acodec == "aac", "video-only 720p must be merged with the audio rendition"
    assert not (out / PARTIAL_DIR).exists()
    assert sorted(p.name for p in out.glob("*.mp4")) == sorted(ledger.loc[ledger.status == "ok", "path"])


def test_below_min_height_is_rejected_and_rerun_skips_ok(http_root, tmp_path):
    root, base = http_root
    serve_mp4(root, "small.mp4", size=(640, 360))
    serve_mp4(root, "big.mp4")
    manifest = write_manifest(tmp_path / "m.csv", [(f"{base}/small.mp4", "raining"), (f"{base}/big.mp4", "rain")])
    out = tmp_path / "raw"
    first = run(params_for(manifest), ClassTable.read(), out).set_index("url")
    assert first.loc[f"{base}/small.mp4", "status"] == "rejected"
    assert "640x360 below the minimum 720p" in first.loc[f"{base}/small.mp4", "reason"]
    ok_file = out / first.loc[f"{base}/big.mp4", "path"]
    mtime = ok_file.stat().st_mtime_ns
    (root / "big.mp4").unlink()  # a rerun must not fetch ok items again
    second = run(params_for(manifest), ClassTable.read(), out).set_index("url")
    assert second.loc[f"{base}/big.mp4", "status"] == "ok" and ok_file.stat().st_mtime_ns == mtime
    assert second.loc[f"{base}/big.mp4", "attempts"] == 1


def test_ranges_cut_exact_segment(http_root, tmp_path):
    root, base = http_root
    serve_mp4(root, "long.mp4", seconds=4)
    pd.DataFrame({"u": [f"{base}/long.mp4"], "c": ["raining"], "s": [0.5], "e": [2.5]}).to_csv(
        tmp_path / "m.csv", index=False
    )
    params = params_for(
        tmp_path / "m.csv",
        source={
            "kind": "authors_csv",
            "path": str(tmp_path / "m.csv"),
            "use_ranges": True,
            "columns": {"url": "u", "label": "c", "start": "s", "end": "e"},
        },
    )
    row = run(params, ClassTable.read(), tmp_path / "raw").iloc[0]
    assert row["status"] == "ok" and row["id"].endswith("_000000500ms")
    info = probe(tmp_path / "raw" / row["path"])
    assert abs(info.video_duration - 2.0) < 0.051 and info.nb_frames == 20


def test_success_ratio_failure_keeps_ledger(http_root, tmp_path):
    _, base = http_root
    manifest = write_manifest(
        tmp_path / "m.csv",
        [
            (f"{base}/a.mp4", "raining"),
            (f"{base}/b.mp4", "raining"),
            ("not a url", "raining"),
            (f"{base}/c.mp4", "no such class"),
        ],
    )
    out = tmp_path / "raw"
    with pytest.raises(
        DownloadStageError,
        match=r"(?s)0 of 4 items succeeded.*2 x unavailable: ERROR: \[generic\] Unable to download webpage: HTTP Error 404",
    ):
        run(params_for(manifest), ClassTable.read(), out)
    ledger = pd.read_parquet(out / "ledger.parquet").set_index("url")
    assert ledger.loc["not a url", "status"] == "rejected" and "not a URL" in ledger.loc["not a url", "reason"]
    assert ledger.loc[f"{base}/c.mp4", "reason"] == "unknown class label"
    assert (ledger.loc[[f"{base}/a.mp4", f"{base}/b.mp4"], "status"] == "unavailable").all()


def test_killed_run_leaves_no_partial_file_and_rerun_completes(http_root, tmp_path, repo_root):
    root, base = http_root
    names = [f"clip{i}.mp4" for i in range(3)]
    for n in names:
        serve_mp4(root, n, seconds=4)
    manifest = write_manifest(tmp_path / "m.csv", [(f"{base}/slow/{n}", "raining") for n in names])
    params = {
        "profile": "test",
        "datasets": ["landscape"],
        "download": {
            "landscape": {
                "classes": ["raining"],
                "source": {
                    "kind": "authors_csv",
                    "path": str(manifest),
                    "columns": {"url": "link", "label": "category"},
                },
                "workers": 1,
                "retries": 0,
                "socket_timeout": 10,
            }
        },
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out = tmp_path / "raw"
    cmd = [
        sys.executable,
        "stages/download.py",
        "--params",
        str(tmp_path / "params.yaml"),
        "--dataset",
        "landscape",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(
        cmd, cwd=repo_root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 60
    # Wait until one item is complete and the next one is half-way through its download.
    while time.monotonic() < deadline:
        partial = [p for p in (out / PARTIAL_DIR).rglob("*") if p.is_file()] if (out / PARTIAL_DIR).exists() else []
        if list(out.glob("*.mp4")) and partial:
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the download never reached the state to interrupt")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for f in out.glob("*.mp4"):  # anything with a final name is complete and matches its source
        assert sha256_file(f) in {sha256_file(root / n) for n in names} or probe(f).nb_frames == 40
    assert not (out / "ledger.parquet").exists()  # the journal holds the finished rows until the stage ends

    done = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    ledger = pd.read_parquet(out / "ledger.parquet")
    assert (ledger["status"] == "ok").all() and len(ledger) == 3
    assert not (out / PARTIAL_DIR).exists() and not list(out.glob("*.journal.jsonl"))
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".mp4") == sorted(ledger["path"])
    for row in ledger.itertuples():
        assert sha256_file(out / row.path) == row.sha256 and probe(out / row.path).nb_frames == 40


class _Cause(Exception):
    def __init__(self, msg: str, status: int | None = None, expected: bool = False):
        super().__init__(msg)
        self.status = status
        self.expected = expected


class _Wrapped(Exception):
    def __init__(self, msg: str, cause: Exception):
        super().__init__(msg)
        self.exc_info = (type(cause), cause, None)


@pytest.mark.parametrize(
    "exc, status",
    [
        (_Wrapped("ERROR: HTTP Error 429: Too Many Requests", _Cause("429", status=429)), "transient"),
        (_Wrapped("ERROR: HTTP Error 404: Not Found", _Cause("404", status=404)), "unavailable"),
        (_Wrapped("ERROR: [youtube] x: Video unavailable", _Cause("Video unavailable", expected=True)), "unavailable"),
        (_Wrapped("ERROR: [youtube] x: Private video", _Cause("Private video", expected=True)), "unavailable"),
        (_Wrapped("ERROR: Sign in to confirm you’re not a bot", _Cause("bot", expected=True)), "transient"),
        (_Wrapped("ERROR: This content isn't available, try again later", _Cause("x", expected=True)), "transient"),
        (Exception("ERROR: [youtube] x: Requested format is not available"), "rejected"),
        (TimeoutError("The read operation timed out"), "transient"),
    ],
)
def test_classify_error(exc, status):
    assert classify_error(exc)[0] == status


def test_parse_rate():
    assert parse_rate("500K") == 500 * 1024 and parse_rate("1.5M") == int(1.5 * 1024**2) and parse_rate(None) is None
