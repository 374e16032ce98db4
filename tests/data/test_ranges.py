"""Range-only downloads of whole videos (loopback server that honours Range), metadata guards, local folders where
nothing vanishes, and a download ledger that is byte-identical across runs and folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from http_range import serve
from media import counted_video_frames, ffmpeg, make_video

from sound2video.data.classes import ClassTable
from sound2video.data.cut.params import CutParams
from sound2video.data.cut.plan import plan_clips
from sound2video.data.cut.stage import run as cut
from sound2video.data.download.params import DownloadParams
from sound2video.data.download.stage import RUN_LOG_NAME
from sound2video.data.download.stage import run as download
from sound2video.media.probe import MediaInfo
from sound2video.media.windows import decode_windows, plan_windows

SECONDS = 40


@pytest.fixture(autouse=True)
def _in_repo(repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    tmp = make_video(root / "tmp.mp4", size=(640, 360), seconds=SECONDS, fps=10)
    # a keyframe every second, as streaming sites encode; the index first, so a reader can seek at once
    ffmpeg(
        "-i",
        str(tmp),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "10",
        "-c:a",
        "copy",
        "-movflags",
        "+faststart",
        str(root / "long.mp4"),
    )
    tmp.unlink()
    srv, base, sent = serve(root)
    yield root, base, sent
    srv.shutdown()


def _params(manifest: Path, **over) -> DownloadParams:
    data = {
        "classes": ["raining"],
        "source": {"kind": "authors_csv", "path": str(manifest), "columns": {"url": "u", "label": "c"}},
        "min_height": 360,
        "retries": 0,
        "fragment_retries": 0,
        "extractor_retries": 0,
        "workers": 1,
    } | over
    return DownloadParams.model_validate(data, context={"known_classes": ClassTable.read().names})


def test_plan_windows():
    assert plan_windows(40, 5, 2) == [(0.0, 5.0), (20.0, 25.0)]
    assert plan_windows(40, 5, 2, "consecutive") == [(0.0, 5.0), (5.0, 10.0)]
    assert plan_windows(12, 5, 10) == [(0.0, 5.0), (6.0, 11.0)] and plan_windows(4, 5, 3) == []


def test_one_planner_for_the_download_ranges_and_the_cut():
    """The cut plans with the same function, its starts on the frame grid; the ranges' starts are to the ms."""
    assert plan_windows(10, 3, 3) == [(0.0, 3.0), (3.333, 6.333), (6.667, 9.667)]
    assert plan_windows(10, 3, 3, fps=30) == [(0.0, 3.0), (3.333333, 6.333333), (6.666667, 9.666667)]
    assert plan_windows(10, 3, 3, fps=7) == [(0.0, 3.0), (3.285714, 6.285714), (6.571429, 9.571429)]
    assert plan_windows(10, 3, 3, "consecutive", fps=7) == [(0.0, 3.0), (3.0, 6.0), (6.0, 9.0)]
    info = MediaInfo(640, 360, 10.0, 40.0, 40.0, 40.0, "h264", "aac", 16000, 1, 400, 0)
    cut = CutParams(clip_seconds=5, clips_per_video=3, width=640, height=360, fps=10, audio={"sample_rate": 16000})
    spans = [(c.start, c.end) for c in plan_clips(info, cut)]
    assert spans == plan_windows(40, 5, 3, fps=10) == [(0.0, 5.0), (13.3, 18.3), (26.6, 31.6)]


def test_ranged_fetch_downloads_only_the_windows_and_cut_takes_one_clip_each(server, tmp_path):
    root, base, sent = server
    pd.DataFrame({"u": [f"{base}/long.mp4"], "c": ["raining"]}).to_csv(tmp_path / "m.csv", index=False)
    whole = (root / "long.mp4").stat().st_size

    sent.clear()
    ranged = _params(tmp_path / "m.csv", ranges={"clip_seconds": 5, "clips_per_video": 2, "margin_seconds": 0.5})
    row = download(ranged, ClassTable.read(), tmp_path / "raw").iloc[0]
    assert row["status"] == "ok", row["reason"]
    assert sum(sent.values()) < 0.6 * whole  # 11 s of 40 s fetched, plus the metadata reads
    assert abs(row["duration"] - 11.5) < 0.1  # [0, 5.5] and [19.5, 25.5], joined
    assert decode_windows(row["windows"]) == [(0.0, 5.0), (6.0, 11.0)]

    p = CutParams.model_validate(
        {
            "clip_seconds": 5,
            "clips_per_video": 2,
            "width": 640,
            "height": 360,
            "fps": 10,
            "video": {"preset": "ultrafast"},
            "audio": {"sample_rate": 16000},
            "workers": 1,
        }
    )
    clips = cut(p, pd.read_parquet(tmp_path / "raw" / "ledger.parquet"), tmp_path / "raw", tmp_path / "clips")
    ok = clips[clips["status"] == "ok"].sort_values("clip_index")
    assert list(ok["start"]) == [0.0, 6.0]
    assert all(counted_video_frames(tmp_path / "clips" / m) == 50 for m in ok["mp4"])


def test_guards_reject_from_metadata_before_downloading(server, tmp_path):
    _, base, sent = server
    pd.DataFrame({"u": [f"{base}/long.mp4"], "c": ["raining"]}).to_csv(tmp_path / "m.csv", index=False)
    sent.clear()
    p = _params(tmp_path / "m.csv", max_duration_seconds=30, min_success_ratio=0)
    row = download(p, ClassTable.read(), tmp_path / "raw").iloc[0]
    assert row["status"] == "rejected" and "over max_duration_seconds 30" in row["reason"]
    assert not list((tmp_path / "raw").glob("*.mp4"))


def test_local_folder_every_file_gets_a_row_and_the_ledger_is_byte_identical(tmp_path):
    src = tmp_path / "videos" / "raining"
    src.mkdir(parents=True)
    make_video(src / "a.mp4", size=(1280, 720), seconds=1)
    ffmpeg("-i", str(src / "a.mp4"), "-c", "copy", "-f", "mpegts", str(src / "b.ts"))
    ffmpeg("-i", str(src / "a.mp4"), "-vn", "-c:a", "copy", str(src / "c.m4a"))
    (src / "notes.txt").write_text("not a video")
    ledgers = []
    for run_dir in ("one", "two"):
        folder = tmp_path / run_dir / "videos"  # the same files in another place, as on another machine
        shutil.copytree(tmp_path / "videos", folder)
        p = DownloadParams.model_validate(
            {"classes": ["raining"], "min_success_ratio": 0, "source": {"kind": "local_folder", "path": str(folder)}},
            context={"known_classes": ClassTable.read().names},
        )
        ledger = download(p, ClassTable.read(), tmp_path / run_dir / "raw", tmp_path / run_dir / RUN_LOG_NAME)
        ledgers.append((tmp_path / run_dir / "raw" / "ledger.parquet").read_bytes())
        assert (tmp_path / run_dir / RUN_LOG_NAME).is_file()  # timings go to the untracked log
    rows = ledger.set_index("url")
    assert sorted(rows.index) == ["raining/a.mp4", "raining/b.ts", "raining/c.m4a", "raining/notes.txt"]
    assert rows.loc["raining/a.mp4", "status"] == "ok" and rows.loc["raining/b.ts", "status"] == "ok"
    assert (rows.loc["raining/c.m4a", "status"], rows.loc["raining/c.m4a", "reason"]) == ("rejected", "no video stream")
    assert rows.loc["raining/notes.txt", "status"] == "rejected"
    assert "unreadable" in rows.loc["raining/notes.txt", "reason"]
    assert ledgers[0] == ledgers[1]
    assert b"pandas" not in ledgers[0] and b"parquet-cpp-arrow" not in ledgers[0]
