"""The cut stage on awkward inputs; every clip it produces is measured independently with ffprobe."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from media import (
    counted_video_frames,
    decoded_audio_samples,
    make_scene_cut,
    make_vfr,
    make_video,
    probe_json,
    truncate,
)

from sound2video.core.fsutil import sha256_file
from sound2video.data.cut.params import CutParams
from sound2video.data.cut.plan import Unclippable, plan_clips
from sound2video.data.cut.stage import run
from sound2video.data.cut.transcode import build_command
from sound2video.media.probe import probe

PARAMS = dict(
    clip_seconds=1,
    clips_per_video=2,
    width=1280,
    height=720,
    fps=10,
    video={"preset": "ultrafast", "crf": 30},
    audio={"sample_rate": 16000, "channels": 2},
    workers=2,
)


def params(**over) -> CutParams:
    return CutParams.model_validate(PARAMS | over)


def downloads_for(folder: Path) -> pd.DataFrame:
    rows = [
        {
            "id": f.stem,
            "url": f"file://{f}",
            "class": "raining",
            "source_kind": "local_folder",
            "status": "ok",
            "path": f.name,
            "sha256": sha256_file(f),
        }
        for f in sorted(folder.glob("*.mp4"))
    ]
    return pd.DataFrame(rows)


def assert_exact_clip(out: Path, row: dict, p: CutParams) -> None:
    """Size, frame count and audio sample count of a clip, by ffprobe/ffmpeg decoding, not by our own ledger."""
    mp4, flac = out / row["mp4"], out / row["flac"]
    v = next(s for s in probe_json(mp4)["streams"] if s["codec_type"] == "video")
    assert (v["width"], v["height"], v["codec_name"], v["pix_fmt"]) == (p.width, p.height, "h264", "yuv420p")
    assert counted_video_frames(mp4) == p.frames_per_clip
    samples, channels = decoded_audio_samples(flac)
    assert (samples, channels) == (p.samples_per_clip, p.audio.channels)
    a = next(s for s in probe_json(mp4)["streams"] if s["codec_type"] == "audio")
    assert a["codec_name"] == "aac" and int(a["sample_rate"]) == p.audio.sample_rate
    # AAC works in 1024-sample frames, so the mp4's audio length is exact only to within one frame.
    assert abs(decoded_audio_samples(mp4)[0] - p.samples_per_clip) <= 1024
    fmt = probe_json(mp4)["format"]
    assert not {k.lower() for k in fmt.get("tags", {})} - {"major_brand", "minor_version", "compatible_brands"}


@pytest.fixture(scope="module")
def awkward_sources(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sources")
    make_video(d / "good.mp4", seconds=2.5)
    make_video(d / "no_audio.mp4", audio=None)
    truncate(make_video(d / "truncated.mp4", seconds=3))
    make_video(d / "small_640x360.mp4", size=(640, 360))
    make_video(d / "portrait_1080x1920.mp4", size=(1080, 1920), seconds=1.2)
    make_video(d / "too_short.mp4", seconds=0.5)
    make_vfr(d / "vfr.mp4")
    make_video(d / "surround_51.mp4", layout="5.1")
    make_scene_cut(d / "scene_cut.mp4")
    make_video(d / "silent.mp4", audio="silence", seconds=1.2)
    make_video(d / "frozen.mp4", picture="color", seconds=1.2)
    return d


@pytest.fixture(scope="module")
def clipped(awkward_sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("clips")
    p = params()
    return run(p, downloads_for(awkward_sources), awkward_sources, out), out, p


def _rows(ledger: pd.DataFrame, video: str) -> list[dict]:
    return ledger[ledger["video_id"] == video].sort_values("clip_index").to_dict("records")


@pytest.mark.parametrize(
    "video, reason",
    [
        ("no_audio", "no_audio_stream"),
        ("small_640x360", "needs_upscale"),
        ("portrait_1080x1920", "needs_upscale"),
        ("too_short", "too_short"),
    ],
)
def test_sources_rejected_with_reason(clipped, video, reason):
    ledger, _, _ = clipped
    rows = _rows(ledger, video)
    assert len(rows) == 1 and rows[0]["clip_index"] == -1
    assert rows[0]["status"] == "rejected" and rows[0]["reason"].startswith(reason)


def test_truncated_source_never_yields_a_short_clip(clipped):
    ledger, out, p = clipped
    rows = _rows(ledger, "truncated")
    assert rows, "the truncated file must leave a ledger row"
    for r in rows:
        if r["status"] == "ok":
            assert_exact_clip(out, r, p)
        else:
            assert r["reason"] and r["reason"].split(":")[0] in {"unreadable", "bad_output", "transcode_failed"}
    assert any(r["status"] == "rejected" for r in rows)


@pytest.mark.parametrize("video, n_clips", [("good", 2), ("vfr", 2), ("surround_51", 2), ("scene_cut", 2)])
def test_good_inputs_give_exact_clips(clipped, video, n_clips):
    ledger, out, p = clipped
    rows = _rows(ledger, video)
    assert [r["status"] for r in rows] == ["ok"] * n_clips, rows
    for r in rows:
        assert_exact_clip(out, r, p)
        assert r["end"] - r["start"] == pytest.approx(p.clip_seconds)
    starts = [r["start"] for r in rows]
    assert all(b >= a + p.clip_seconds - 1e-9 for a, b in zip(starts, starts[1:])), "clips must not overlap"


def test_scene_cut_flagged_only_where_it_is(clipped):
    ledger, _, _ = clipped
    flags = {r["clip_index"]: r["scene_cut"] for r in _rows(ledger, "scene_cut")}
    assert flags == {0: True, 1: False}  # the cut at 0.7 s lies inside clip 0 ([0, 1) s), not clip 1 ([1.5, 2.5) s)
    assert not any(r["scene_cut"] for r in _rows(ledger, "good"))


def test_silent_and_frozen_rejected(clipped):
    ledger, out, _ = clipped
    silent, frozen = _rows(ledger, "silent"), _rows(ledger, "frozen")
    assert [r["reason"].split(":")[0] for r in silent] == ["silent_audio"]
    assert [r["reason"].split(":")[0] for r in frozen] == ["frozen_picture"]
    assert not list(out.rglob("silent_*.mp4")) and not list(out.rglob("frozen_*.mp4"))


def test_ledger_matches_files(clipped):
    ledger, out, _ = clipped
    ok = ledger[ledger["status"] == "ok"]
    on_disk = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.suffix in (".mp4", ".flac"))
    assert on_disk == sorted(list(ok["mp4"]) + list(ok["flac"]))
    for r in ok.itertuples():
        assert sha256_file(out / r.mp4) == r.mp4_sha256 and (out / r.flac).stat().st_size == r.flac_bytes
    assert not list(out.rglob(".*.tmp.*"))


def test_allow_upscale_accepts_small_source(awkward_sources, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "small.mp4").write_bytes((awkward_sources / "small_640x360.mp4").read_bytes())
    p = params(allow_upscale=True, clips_per_video=1)
    ledger = run(p, downloads_for(src), src, tmp_path / "out")
    assert list(ledger["status"]) == ["ok"]
    assert_exact_clip(tmp_path / "out", ledger.iloc[0].to_dict(), p)


def test_drop_policy_rejects_scene_cut(awkward_sources, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "cut.mp4").write_bytes((awkward_sources / "scene_cut.mp4").read_bytes())
    ledger = run(params(scene={"policy": "drop"}), downloads_for(src), src, tmp_path / "out")
    assert sorted(ledger["status"]) == ["ok", "rejected"]
    assert ledger.loc[ledger.status == "rejected", "reason"].iloc[0].startswith("scene_cut")


def test_byte_identical_across_runs_and_resume(awkward_sources, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.mp4").write_bytes((awkward_sources / "good.mp4").read_bytes())
    p = params()
    a = run(p, downloads_for(src), src, tmp_path / "a")
    b = run(p, downloads_for(src), src, tmp_path / "b")
    assert list(a["mp4_sha256"]) == list(b["mp4_sha256"]) and list(a["flac_sha256"]) == list(b["flac_sha256"])
    first = tmp_path / "a" / a.iloc[0]["mp4"]
    mtime = first.stat().st_mtime_ns
    again = run(p, downloads_for(src), src, tmp_path / "a")  # resume: nothing to redo
    assert first.stat().st_mtime_ns == mtime and list(again["mp4_sha256"]) == list(a["mp4_sha256"])
    changed = run(params(video={"preset": "ultrafast", "crf": 35}), downloads_for(src), src, tmp_path / "a")
    assert list(changed["mp4_sha256"]) != list(a["mp4_sha256"]), "changed params must redo the clips"


def test_command_reencodes_with_input_seek_and_bitexact(tmp_path):
    argv = build_command("in.mp4", 12.5, tmp_path / "o.mp4", tmp_path / "o.flac", params())
    assert argv.index("-ss") < argv.index("-i") and argv[argv.index("-ss") + 1] == "12.500000"
    assert "copy" not in argv and "libx264" in argv and "flac" in argv
    assert argv.count("+bitexact") >= 6 and argv.count("-map_metadata") == 2
    assert "shell" not in " ".join(argv)


def test_plan_spread_and_consecutive(awkward_sources):
    info = probe(awkward_sources / "good.mp4")
    spread = plan_clips(info, params(clip_seconds=1, clips_per_video=2))
    assert [(s.start, s.end) for s in spread] == [(0.0, 1.0), (1.2, 2.2)]
    consecutive = plan_clips(info, params(clip_seconds=1, clips_per_video=5, placement="consecutive"))
    assert [s.start for s in consecutive] == [0.0, 1.0]
    with pytest.raises(Unclippable, match="too_short"):
        plan_clips(info, params(clip_seconds=3))


def test_interrupted_video_is_redone(awkward_sources, tmp_path):
    """A run killed between two clips of one video leaves a partial ledger; the rerun completes that video."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.mp4").write_bytes((awkward_sources / "good.mp4").read_bytes())
    p, out = params(), tmp_path / "out"
    full = run(p, downloads_for(src), src, out)
    partial = full[full["clip_index"] == 0]
    partial.to_parquet(out / "ledger.parquet", index=False)
    (out / full.iloc[1]["mp4"]).unlink()
    again = run(p, downloads_for(src), src, out)
    assert list(again["status"]) == ["ok", "ok"] and list(again["mp4_sha256"]) == list(full["mp4_sha256"])
    assert (out / again.iloc[1]["mp4"]).is_file()


def test_transport_stream_whose_resolution_changes_gives_every_clip(tmp_path):
    """A 24 s MPEG-TS made of a 720p and a 1080p half (its clock restarts at the join, so ffprobe alone reports
    12 s): the cut stage mends the timestamps and cuts the two 10 s clips the duration allows, both exact."""
    src = tmp_path / "src"
    src.mkdir()
    halves = []
    for size in ((1280, 720), (1920, 1080)):
        half = make_video(tmp_path / f"half_{size[1]}.mp4", size=size, seconds=12)
        ts = tmp_path / f"half_{size[1]}.ts"
        from media import ffmpeg

        ffmpeg("-i", str(half), "-c", "copy", "-f", "mpegts", str(ts))
        halves.append(ts.read_bytes())
    (src / "res_change.ts").write_bytes(b"".join(halves))
    assert probe(src / "res_change.ts").duration < 13  # the trap: the reported duration is one half's
    p = params(clip_seconds=10, clips_per_video=10, placement="spread", fps=10)
    downloads = pd.DataFrame(
        [
            {
                "id": "res_change",
                "url": "res_change.ts",
                "class": "raining",
                "source_kind": "local_folder",
                "status": "ok",
                "path": "res_change.ts",
                "sha256": sha256_file(src / "res_change.ts"),
            }
        ]
    )
    out = tmp_path / "clips"
    ledger = run(p, downloads, src, out)
    ok = ledger[ledger["status"] == "ok"].sort_values("clip_index")
    assert list(ok["clip_index"]) == [0, 1], ledger[["clip_index", "status", "reason"]].to_dict("records")
    assert ok.iloc[1]["start"] >= 12 - 1e-6  # the second clip comes from the 1080p half
    for row in ok.to_dict("records"):
        assert_exact_clip(out, row, p)
    assert not (out / ".remux").exists()
