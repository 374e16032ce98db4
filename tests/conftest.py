from __future__ import annotations

import functools
import http.server
import os
import shutil
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("SOUND2VIDEO_PROGRESS", "0")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # two xdist workers share the machine's two cores: one compute thread each (torch's intra-op pool, OpenMP, MKL,
    # BLAS; inherited by the stages and CLIs the tests start) instead of two each fighting over the same cores
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest file, the end-to-end module (one `dvc repro` of the micro profile, minutes), goes first, then the
    other e2e files: under xdist's `--dist loadfile` one worker starts it at once and the other runs the rest of the
    suite beside it, instead of it starting last and running alone."""
    rank = {"test_e2e.py": 0}
    items.sort(key=lambda item: rank.get(item.path.name, 1 if item.get_closest_marker("e2e") else 2))  # stable


@pytest.fixture(scope="session", autouse=True)
def _ffmpeg_available() -> None:
    if not (shutil.which("ffmpeg") and shutil.which("ffprobe")):
        pytest.exit("ffmpeg/ffprobe are required: run `make test` (it installs Debian's ffmpeg)", returncode=3)


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def classes_csv() -> Path:
    return REPO / "data" / "classes.csv"


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mp4": "video/mp4",
        ".m3u8": "application/vnd.apple.mpegurl",
        ".ts": "video/mp2t",
        ".m4s": "video/iso.segment",
    }
    slow_chunk_delay = 0.0

    def log_message(self, *args: object) -> None:
        pass

    def copyfile(self, source, outputfile) -> None:  # type: ignore[override]
        if "/slow/" not in self.path:
            return super().copyfile(source, outputfile)
        import time

        while chunk := source.read(64 * 1024):
            outputfile.write(chunk)
            outputfile.flush()
            time.sleep(0.2)


@pytest.fixture
def http_root(tmp_path: Path):
    """Serve a fresh folder on 127.0.0.1; yields (folder, base_url). Paths under /slow/ trickle out."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "slow").symlink_to(root, target_is_directory=True)
    handler = functools.partial(_Handler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
