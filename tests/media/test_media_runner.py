"""The runner's errors: they name the file the caller passed (never a temporary copy), give the tool's last stderr
line(s), and turn a timeout or a missing binary into a clear error."""

from __future__ import annotations

import numpy as np
import pytest
from media import make_video

from sound2video.media.argv import streams_command
from sound2video.media.probe import ProbeError, probe
from sound2video.media.runner import MediaError, ToolMissing, ToolProcess, ffmpeg_version, run_tool, stderr_tail

URL = "https://example.com/videos/clip.mp4"


@pytest.fixture
def corrupt(tmp_path):
    """A working copy named as the download stage names them, holding bytes no demuxer reads."""
    path = tmp_path / "work" / "media.mp4"
    path.parent.mkdir()
    path.write_bytes(b"this is not a video\n" * 50)
    return path


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "nowhere" / "gone.mp4"
    with pytest.raises(ProbeError) as e:
        probe(path)
    msg = str(e.value)
    assert msg.startswith("ffprobe failed on gone.mp4: ") and "No such file or directory" in msg, msg
    assert str(tmp_path) not in msg and e.value.source == "gone.mp4" and e.value.returncode not in (None, 0)
    with pytest.raises(ProbeError) as e:
        probe(path, name=URL)
    assert str(e.value) == f"ffprobe failed on {URL}: No such file or directory", str(e.value)


def test_corrupt_file_is_named_by_the_users_name_not_the_temporary_one(corrupt):
    with pytest.raises(ProbeError) as e:
        probe(corrupt, name=URL)
    msg = str(e.value)
    assert msg == f"ffprobe failed on {URL}: Invalid data found when processing input", msg
    assert "media.mp4" not in msg and str(corrupt.parent) not in msg
    assert isinstance(e.value, MediaError) and e.value.reason == "Invalid data found when processing input"


def test_download_ledger_reason_names_the_item_not_media_mp4(tmp_path, repo_root, monkeypatch):
    from sound2video.data.classes import ClassTable
    from sound2video.data.download.params import DownloadParams
    from sound2video.data.download.stage import fetch_item

    monkeypatch.chdir(repo_root)
    folder = tmp_path / "videos"
    (folder / "raining").mkdir(parents=True)
    (folder / "raining" / "notes.mp4").write_text("not a video")
    params = DownloadParams.model_validate(
        {"classes": ["raining"], "source": {"kind": "local_folder", "path": str(folder)}},
        context={"known_classes": ClassTable.read().names},
    )
    item = {"id": "raining__notes", "url": "raining/notes.mp4", "source_kind": "local_folder"}
    row = fetch_item(item, params, tmp_path / "raw")
    assert row == {
        "status": "rejected",
        "reason": "downloaded file is unreadable: ffprobe failed on raining/notes.mp4: Invalid data found when "
        "processing input",
    }


def test_missing_binary(tmp_path, monkeypatch):
    with pytest.raises(ToolMissing) as e:
        run_tool(["no-such-ffmpeg-binary", "-version"], URL)
    msg = str(e.value)
    assert "no-such-ffmpeg-binary not found on PATH" in msg and URL in msg and "apt-get install -y ffmpeg" in msg
    clip = make_video(tmp_path / "ok.mp4", size=(64, 48), seconds=0.2)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # neither ffmpeg nor ffprobe can be found
    with pytest.raises(ToolMissing, match=r"^ffprobe not found on PATH, needed for ok\.mp4; install"):
        probe(clip)
    with pytest.raises(ToolMissing, match="ffmpeg not found on PATH, needed for a video"):
        ToolProcess(["ffmpeg", "-version"], "a video")


def test_timeout_kills_the_tool_and_names_the_source():
    endless = ["ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc=s=32x32", "-f", "null", "-"]
    with pytest.raises(MediaError) as e:
        run_tool(endless, "an endless source", timeout=0.5)
    assert str(e.value) == "ffmpeg failed on an endless source: timed out after 0.5 s"
    with ToolProcess(endless, "an endless source") as proc, pytest.raises(MediaError, match="timed out after 0.5 s"):
        proc.wait(timeout=0.5)
    assert proc.proc.poll() is not None  # killed, not left running


def test_streaming_failure_names_the_source_and_keeps_the_last_lines(tmp_path, corrupt):
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(corrupt), "-f", "null", "-"]
    with ToolProcess(cmd, URL, stdin=True, aliases={str(corrupt): URL}) as proc:
        with pytest.raises(MediaError) as e:
            proc.finish()
    msg = str(e.value)
    assert msg.startswith(f"ffmpeg failed on {URL}: ") and "Invalid data found" in msg and "media.mp4" not in msg
    # a writer whose ffmpeg stops reading: the error says so, with ffmpeg's reason
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "8x8", "-i", "pipe:0"]
    cmd += ["-i", str(tmp_path / "no-such.wav"), "-f", "null", "-"]
    with ToolProcess(cmd, "out.mp4", stdin=True) as proc:
        with pytest.raises(
            MediaError, match=r"^ffmpeg failed on out\.mp4: stopped reading: .*no-such\.wav: No such file"
        ):
            try:
                for _ in range(200):
                    proc.stdin.write(np.zeros((8, 8, 3), np.uint8).tobytes() * 64)
            except BrokenPipeError:
                proc.wait()
                raise proc.failure("stopped reading") from None


def test_stderr_tail_aliases_prefix_and_line_count():
    err = b"\nfirst\n/tmp/x/media.mp4: moov atom not found\n\n  /tmp/x/media.mp4: Invalid data  \n"
    assert stderr_tail(err, URL, {"/tmp/x/media.mp4": URL}) == "first | moov atom not found | Invalid data"
    assert stderr_tail(err, URL, {"/tmp/x/media.mp4": URL}, lines=1) == "Invalid data"
    assert stderr_tail(err, "x", {"/tmp/x": "/w", "/tmp/x/media.mp4": "m"}, lines=1) == "m: Invalid data"
    assert stderr_tail(b"", URL) == "no message"


def test_run_tool_returns_stdout(tmp_path):
    clip = make_video(tmp_path / "ok.mp4", size=(64, 48), seconds=0.2)
    out = run_tool(streams_command(clip), clip)
    assert b'"codec_type": "video"' in out
    info = probe(clip)
    assert (info.width, info.height, info.has_audio) == (64, 48, True)
    assert ffmpeg_version().startswith("ffmpeg version ")
