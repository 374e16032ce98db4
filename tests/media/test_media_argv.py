"""Every ffmpeg/ffprobe argv, pinned: each job is called through the module that uses it, the command it would run is
recorded instead of run, and compared with the literal list the hand-built code produced before the media layer
(the argv decides the bytes of clips, shards, synthetic renders and caches)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from sound2video.media import argv
from sound2video.media import runner as runner_mod

BITEXACT_MP4 = ["-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact"]
BITEXACT_MP4 += ["-flags:v", "+bitexact", "-flags:a", "+bitexact"]


class Recorded(Exception):
    """Raised instead of starting a tool: the argv was recorded."""


@pytest.fixture
def recorder(monkeypatch) -> Callable[[Callable[[], object]], list[list[str]]]:
    """``record(call)``: the argv of every tool ``call`` starts (the first ffprobe of a stream listing answers
    'one stereo audio stream', so decoders get as far as their ffmpeg call)."""
    calls: list[list[str]] = []

    def fake_run(cmd, *args, **kwargs):
        calls.append([str(a) for a in cmd])
        if cmd[0] == "ffprobe" and "-show_format" not in cmd:
            streams = {"streams": [{"codec_type": "audio", "channels": 2}]}
            return subprocess.CompletedProcess(cmd, 0, json.dumps(streams).encode(), b"")
        raise Recorded()

    def fake_popen(cmd, *args, **kwargs):
        calls.append([str(a) for a in cmd])
        raise Recorded()

    monkeypatch.setattr(runner_mod.subprocess, "run", fake_run)
    monkeypatch.setattr(runner_mod.subprocess, "Popen", fake_popen)

    def record(call: Callable[[], object]) -> list[list[str]]:
        calls.clear()
        try:
            call()
        except Recorded:
            pass
        return list(calls)

    return record


def test_version_and_probe(recorder):
    from sound2video.media.probe import probe

    runner_mod.ffmpeg_version.cache_clear()
    assert recorder(runner_mod.ffmpeg_version) == [["ffmpeg", "-version"]] == [argv.version_command()]
    runner_mod.ffmpeg_version.cache_clear()
    expected = ["ffprobe", "-show_format", "-show_streams", "-of", "json", "-timeout", "60.0", "/data/in.mp4"]
    assert recorder(lambda: probe("/data/in.mp4")) == [expected]
    assert argv.probe_command("/data/in.mp4") == expected


def test_remux(recorder, tmp_path):
    from sound2video.media.probe import remux_continuous

    out = tmp_path / "out.mkv"
    expected = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", "/data/in.ts"]
    expected += ["-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", "-map_metadata", "-1", "-fflags", "+bitexact"]
    expected += ["-f", "matroska", str(out)]
    assert recorder(lambda: remux_continuous("/data/in.ts", out)) == [expected]


def test_yt_dlp_window_join(recorder, tmp_path):
    from sound2video.data.sources import ytdlp

    parts = [tmp_path / "media.000000012.500.mp4", tmp_path / "media.000000000.000.mp4"]
    calls = recorder(lambda: ytdlp._join(parts, tmp_path / "joined.mp4", "https://example.com/v"))
    expected = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0"]
    expected += ["-i", str(tmp_path / "joined.txt"), "-c", "copy", "-map_metadata", "-1", "-fflags", "+bitexact"]
    assert calls == [[*expected, str(tmp_path / "joined.mp4")]]
    listing = (tmp_path / "joined.txt").read_text()
    assert listing == "file 'media.000000000.000.mp4'\nfile 'media.000000012.500.mp4'\n"


def test_synthetic_render(recorder, tmp_path, monkeypatch):
    from sound2video.data.sources import synthetic
    from sound2video.data.sources.params import SyntheticParams

    class FixedTmp:  # the render's temporary folder, at a known place
        def __init__(self, *args, **kwargs) -> None:
            pass

        def __enter__(self) -> str:
            return str(tmp_path)

        def __exit__(self, *exc) -> None:
            return None

    monkeypatch.setattr(synthetic.tempfile, "TemporaryDirectory", FixedTmp)
    out = tmp_path / "media.mp4"
    calls = recorder(lambda: synthetic.render_video(out, "church_bell_ringing", 1, SyntheticParams(duration_seconds=1)))
    expected = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt"]
    expected += ["rgb24", "-s", "192x108", "-r", "15", "-i", "pipe:0", "-i", str(tmp_path / "audio.wav")]
    expected += ["-map", "0:v", "-map", "1:a", "-vf", "scale=1280:720:flags=bicubic,format=yuv420p", "-c:v"]
    expected += ["libx264", "-preset", "ultrafast", "-crf", "20", "-threads", "1", "-c:a", "aac", "-b:a", "128k"]
    expected += ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"]
    assert calls == [[*expected, "-f", "mp4", str(out)]]


def test_video_writer(tmp_path):
    from sound2video.models.video.writer import VideoWriter

    tmp = tmp_path / ".v.tmp.mp4"
    head = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-filter_threads", "1", "-f"]
    head += ["rawvideo", "-pix_fmt", "rgb24"]
    plain = [*head, "-s", "16x16", "-framerate", "10/1", "-i", "pipe:0", "-map", "0:v:0", "-vf", "format=yuv420p"]
    plain += ["-c:v", "libx264", "-preset", "medium", "-crf", "18", "-threads:v", "1", "-pix_fmt", "yuv420p"]
    plain += [*BITEXACT_MP4, "-movflags", "+faststart", "-f", "mp4", str(tmp)]
    assert VideoWriter(tmp_path / "v.mp4", 10, 16, 16).command(tmp) == plain
    full = [*head, "-s", "64x48", "-framerate", "2997/100", "-i", "pipe:0", "-i", str(tmp_path / "s.wav")]
    full += ["-map", "0:v:0", "-vf", "scale=128:96:flags=lanczos+accurate_rnd+full_chroma_int,format=yuv420p"]
    full += ["-c:v", "libx264", "-preset", "fast", "-crf", "20", "-threads:v", "1", "-pix_fmt", "yuv420p"]
    full += ["-map", "1:a:0", "-af", "asetpts=N/SR/TB", "-ar", "48000", "-c:a", "aac", "-b:a", "160k"]
    full += [*BITEXACT_MP4, "-movflags", "+faststart", "-f", "mp4", str(tmp)]
    writer = VideoWriter(
        tmp_path / "v.mp4", 29.97, 64, 48, audio_path=tmp_path / "s.wav", size=128, crf=20, preset="fast"
    )
    assert writer.command(tmp) == full


def test_video_cache_frames(recorder):
    from sound2video.models.video import cache

    calls = recorder(lambda: cache.decode_frames(Path("/c/clip.mp4"), 12.5, 64, 20))
    expected = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-threads", "1", "-filter_threads", "1"]
    expected += ["-i", "/c/clip.mp4", "-map", "0:v:0", "-an", "-sn", "-dn", "-vf"]
    expected += ["fps=25/2,crop='min(iw,ih)':'min(iw,ih)',scale=64:64:flags=lanczos+accurate_rnd+full_chroma_int,"]
    expected[-1] += "setsar=1,format=rgb24"
    assert calls == [[*expected, "-frames:v", "20", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]]


def test_video_model_audio(recorder, tmp_path):
    from sound2video.models.video.audio_windows import decode_audio

    sound = tmp_path / "a.flac"
    sound.write_bytes(b"x")
    calls = recorder(lambda: decode_audio(sound, 16000))
    assert calls[0] == ["ffprobe", "-v", "error", "-of", "json", "-show_streams", str(sound)]
    expected = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i", str(sound), "-map", "0:a:0", "-vn"]
    expected += ["-sn", "-dn", "-ar", "16000", "-ac", "2", "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1"]
    assert calls[1:] == [expected]


def test_metrics_decoders(recorder):
    from sound2video.metrics import videos

    ppm = ["-frames:v", "16", "-f", "image2pipe", "-c:v", "ppm", "pipe:1"]
    head = ["ffmpeg", "-nostdin", "-v", "error", "-i", "/c/v.mp4"]
    assert recorder(lambda: videos._decode_file(Path("/c/v.mp4"), 16, 1)) == [[*head, *ppm]]
    strided = [*head, "-vf", "select=not(mod(n\\,3))", "-fps_mode", "passthrough", *ppm]
    assert recorder(lambda: videos._decode_file(Path("/c/v.mp4"), 16, 3)) == [strided]
    item = videos.VideoItem(name="v", path=Path("/c/v.mp4"))
    mono = [*head, "-map", "0:a:0", "-ac", "1", "-ar", "22050", "-f", "f32le", "pipe:1"]
    assert recorder(lambda: videos.decode_audio(item, 22050)) == [mono]


def test_shard_jpeg_frames(recorder, monkeypatch, tmp_path):
    from sound2video.data.shard import frames

    class FixedTmp:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def __enter__(self) -> str:
            return str(tmp_path)

        def __exit__(self, *exc) -> None:
            return None

    monkeypatch.setattr(frames.tempfile, "TemporaryDirectory", FixedTmp)
    calls = recorder(lambda: frames.jpeg_frames(Path("/c/clip.mp4"), 100, 4, 3))
    expected = ["ffmpeg", "-nostdin", "-v", "error", "-i", "/c/clip.mp4", "-vf"]
    expected += ["select=eq(n\\,12)+eq(n\\,37)+eq(n\\,62)+eq(n\\,87)", "-fps_mode", "passthrough", "-frames:v", "4"]
    expected += ["-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p", "-fflags", "+bitexact", "-flags:v"]
    assert calls == [[*expected, "+bitexact", f"{tmp_path}/f%03d.jpg"]]


def _cut_expected(start: str, seconds: str, fps: int, frames: int, rate: int, samples: int, layout: str) -> list[str]:
    graph = (
        f"[0:v]fps=fps={fps}[s0];[s0]scale=1280:720:flags=bicubic:force_original_aspect_ratio=increase[s1];"
        f"[s1]crop=1280:720[s2];[s2]setsar=1[s3];[s3]format=yuv420p[s4];[s4]trim=end_frame={frames}[s5];"
        f"[s5]split=2[s6][s7];[0:a]aresample={rate}[s8];[s8]aformat=channel_layouts={layout}:sample_fmts=fltp[s9];"
        f"[s9]apad[s10];[s10]atrim=end_sample={samples}[s11];[s11]asplit=2[s12][s13];[s7]scale=128:72:flags=area[s14]"
    )
    bitexact = ["-fflags", "+bitexact", "-flags:a", "+bitexact", "-flags:v", "+bitexact"]
    bitexact += ["-map_chapters", "-1", "-map_metadata", "-1"]
    cmd = ["ffmpeg", "-reinit_filter", "0", "-ss", start, "-t", seconds, "-i", "/raw/in.mp4", "-filter_complex", graph]
    cmd += ["-map", "[s6]", "-map", "[s12]", "-f", "mp4", "-acodec", "aac", "-b:a", "192k", "-crf"]
    cmd += ["30" if fps == 10 else "23", *bitexact[:6], "-frames:v", str(frames), *bitexact[6:]]
    cmd += ["-pix_fmt", "yuv420p", "-preset", "ultrafast" if fps == 10 else "veryfast", "-threads", "1"]
    cmd += ["-vcodec", "libx264", "/clips/o.mp4", "-map", "[s13]", "-f", "flac", "-acodec", "flac", *bitexact]
    cmd += ["-sample_fmt", "s16", "/clips/o.flac", "-map", "[s14]", "-f", "rawvideo", "-frames:v", str(frames)]
    return (
        cmd
        + ["-pix_fmt", "bgr24", "pipe:1", "-nostdin", "-hide_banner", "-loglevel", "error"]
        + [
            "-filter_threads",
            "1",
            "-y",
        ]
    )


def test_cut_clip_graph():
    from sound2video.data.cut.params import CutParams
    from sound2video.data.cut.transcode import build_command

    p = CutParams.model_validate(
        dict(
            clip_seconds=1,
            clips_per_video=2,
            fps=10,
            video={"preset": "ultrafast", "crf": 30},
            audio={"sample_rate": 16000, "channels": 2},
        )
    )
    got = build_command("/raw/in.mp4", 12.5, "/clips/o.mp4", "/clips/o.flac", p)
    assert got == _cut_expected("12.500000", "1.200000", 10, 10, 16000, 16000, "stereo")
    mono = CutParams.model_validate(dict(audio={"channels": 1}))  # the defaults: 10 s at 30 fps, 44.1 kHz
    got = build_command("/raw/in.mp4", 0.0, "/clips/o.mp4", "/clips/o.flac", mono)
    assert got == _cut_expected("0.000000", "10.066667", 30, 300, 44100, 441000, "mono")


def test_exact_rate():
    assert str(argv.exact_rate(12.5)) == "25/2" and str(argv.exact_rate(29.97)) == "2997/100"
    with pytest.raises(ValueError, match="fps must be positive"):
        argv.exact_rate(0)


def test_ffmpeg_argv_is_built_only_in_media(repo_root):
    """No module outside ``sound2video/media`` starts a command line with ffmpeg/ffprobe or imports ffmpeg-python."""
    import ast

    package = repo_root / "sound2video"
    offenders = []
    for f in sorted(package.rglob("*.py")):
        if f.parent == package / "media":
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            first = node.elts[0] if isinstance(node, (ast.List, ast.Tuple)) and node.elts else None
            if isinstance(first, ast.Constant) and first.value in ("ffmpeg", "ffprobe"):
                offenders.append(f"{f.relative_to(repo_root)}:{node.lineno} builds a {first.value} argv")
            if isinstance(node, ast.Import) and any(a.name == "ffmpeg" for a in node.names):
                offenders.append(f"{f.relative_to(repo_root)}:{node.lineno} imports ffmpeg-python")
            if isinstance(node, ast.ImportFrom) and node.module == "ffmpeg":
                offenders.append(f"{f.relative_to(repo_root)}:{node.lineno} imports from ffmpeg-python")
    assert not offenders, "ffmpeg/ffprobe command lines belong in sound2video/media/argv.py:\n" + "\n".join(offenders)
