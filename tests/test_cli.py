"""The command line: fast start, help, inspect, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import webdataset as wds


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sound2video", *args], capture_output=True, text=True, cwd=cwd)


def test_help_lists_commands(repo_root):
    r = run_cli("--help", cwd=repo_root)
    assert r.returncode == 0
    for cmd in ("params", "profile", "data"):
        assert cmd in r.stdout


def test_cli_start_imports_no_heavy_library(repo_root):
    code = (
        "import sys; from sound2video import cli; cli.build_parser(); "
        "heavy = [m for m in ('torch', 'open_clip', 'pandas', 'librosa', 'scenedetect', 'yt_dlp', 'cv2') "
        "if m in sys.modules]; print(heavy)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo_root)
    assert r.stdout.strip() == "[]"


def test_params_check_reports_key(tmp_path, repo_root):
    bad = tmp_path / "p.yaml"
    bad.write_text((repo_root / "params.yaml").read_text().replace("clip_seconds: 5", "clip_seconds: -5"))
    r = run_cli("params", "check", str(bad), cwd=repo_root)
    assert r.returncode == 2 and "cut.landscape.clip_seconds" in r.stderr and "greater than 0" in r.stderr
    ok = run_cli("params", "check", cwd=repo_root)
    assert ok.returncode == 0 and "valid" in ok.stdout


def test_data_inspect_tar_and_missing(tmp_path, repo_root):
    tar = tmp_path / "train-000000.tar"
    with wds.TarWriter(str(tar), mtime=0) as w:
        for i in range(3):
            w.write({"__key__": f"k{i}", "mp4": b"v", "flac": b"a", "json": {"class": "raining"}, "cls": 6})
    r = run_cli("data", "inspect", str(tar), cwd=repo_root)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["samples"] == 3 and out["fields"] == {"cls": 3, "flac": 3, "json": 3, "mp4": 3}
    assert out["classes"] == {"raining": 3}
    missing = run_cli("data", "inspect", str(tmp_path / "nope.tar"), cwd=repo_root)
    assert missing.returncode == 1 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    debug = subprocess.run(
        [sys.executable, "-m", "sound2video", "data", "inspect", str(tmp_path / "nope.tar")],
        capture_output=True,
        text=True,
        cwd=repo_root,
        env={**__import__("os").environ, "SOUND2VIDEO_LOG": "DEBUG"},
    )
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_profile_list(repo_root):
    r = run_cli("profile", "list", cwd=repo_root)
    assert r.stdout.split() == ["demo", "micro", "paper"]
