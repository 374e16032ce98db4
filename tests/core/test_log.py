"""Quiet logs: a stage's own lines show, open_clip's INFO chatter and the known-harmless warnings do not, unless
verbose."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# one process, two loads: quiet first (the default), then after switching verbose on; a marker line between them
LOAD_TINY_CLIP_TWICE = """
import logging, sys
from sound2video.core.entry import run_main
from sound2video.core.frozen_clip import ClipModelSpec, load_clip
from sound2video.core.log import setup_logging

def load():
    load_clip(ClipModelSpec(model="tiny-clip", pretrained=None, config=sys.argv[1]))
    import torchvision
    torchvision.models.alexnet(pretrained=False)  # the old keyword lpips uses: a known-harmless warning
    logging.getLogger("sound2video.test").info("our own line")

def main():
    load()
    logging.getLogger("sound2video.test").info("=== verbose from here ===")
    import os, warnings
    os.environ["SOUND2VIDEO_VERBOSE"] = "1"
    warnings.resetwarnings()
    setup_logging()
    load()

sys.exit(run_main(main))
"""


@pytest.fixture(scope="module")
def quiet_and_verbose() -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOUND2VIDEO_VERBOSE", "SOUND2VIDEO_LOG")}
    r = subprocess.run(
        [sys.executable, "-c", LOAD_TINY_CLIP_TWICE, str(REPO / "configs/clip/tiny-clip.json")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    quiet, _, verbose = r.stderr.partition("=== verbose from here ===")
    assert verbose, r.stderr
    return quiet, verbose


def test_a_clip_load_prints_only_our_lines(quiet_and_verbose):
    quiet, _ = quiet_and_verbose
    assert "our own line" in quiet
    assert " INFO root:" not in quiet, quiet  # open_clip logs through the root logger
    assert "pretrained' is deprecated" not in quiet, quiet
    assert "No pretrained weights loaded" not in quiet, quiet  # pretrained: null asks for a random CLIP


def test_verbose_brings_the_third_party_lines_back(quiet_and_verbose):
    quiet, verbose = quiet_and_verbose
    assert "our own line" in verbose
    assert " INFO root:" in verbose and "tiny-clip" in verbose
    assert "pretrained' is deprecated" in verbose
    assert "No pretrained weights loaded for model 'tiny-clip'" in verbose
    assert len(verbose.splitlines()) > len(quiet.splitlines())


def test_third_party_warnings_and_errors_still_show():
    import logging

    from sound2video.core.log import QuietThirdPartyInfo

    f = QuietThirdPartyInfo(["open_clip"])
    where = os.sep.join(["", "site", "open_clip", "factory.py"])

    def record(level: int, pathname: str, name: str = "root") -> logging.LogRecord:
        return logging.LogRecord(name, level, pathname, 1, "m", None, None)

    assert not f.filter(record(logging.INFO, where))
    assert not f.filter(record(logging.DEBUG, "/x/y.py", name="open_clip.factory"))
    assert f.filter(record(logging.WARNING, where))
    assert f.filter(record(logging.ERROR, where))
    assert f.filter(record(logging.INFO, os.sep.join(["", "repo", "sound2video", "models", "x.py"]), "sound2video.x"))
