"""The git and DVC facts a snapshot is made of: tags, files at a revision, dvc.lock outputs, DVC objects."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

DATA_STAGES = ("download", "cut", "shard")
_TAG = re.compile(r"^(?P<dataset>[A-Za-z0-9_-]+)@v(?P<number>[0-9]+)$")
_DATASET = re.compile(r"^[A-Za-z0-9_-]+$")


class SnapshotError(RuntimeError):
    """A snapshot command cannot go on; the message says what is missing and what to do."""


def check_dataset(name: str) -> str:
    """A data set name is used in paths and tag names: letters, digits, '_' and '-' only."""
    if not _DATASET.match(name):
        raise SnapshotError(f"data set name {name!r}: expected letters, digits, '_' or '-'")
    return name


def tag_name(dataset: str, number: int) -> str:
    return f"{check_dataset(dataset)}@v{number}"


def parse_tag(tag: str) -> tuple[str, int]:
    """``landscape@v3`` -> ("landscape", 3)."""
    m = _TAG.match(tag)
    if not m:
        raise SnapshotError(f"{tag!r} is not a snapshot version: expected DATASET@vN, e.g. landscape@v1")
    return m["dataset"], int(m["number"])


def stages(dataset: str) -> list[str]:
    """The DVC stages whose outputs a snapshot of ``dataset`` shares."""
    return [f"{s}@{check_dataset(dataset)}" for s in DATA_STAGES]


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name  # the venv's own dvc, even when the venv is not on PATH
    found = str(beside) if beside.is_file() else shutil.which(name)
    if not found:
        raise SnapshotError(f"`{name}` not found on PATH (install it: {name} is needed for snapshots)")
    return found


def run(root: Path, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run git or dvc in ``root``; a failure raises with the command and its output."""
    r = subprocess.run([_tool(tool), *args], cwd=root, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise SnapshotError(f"`{tool} {' '.join(args)}` failed in {root}:\n{r.stdout}{r.stderr}".rstrip())
    return r


def git(root: Path, *args: str, check: bool = True) -> str:
    return run(root, "git", *args, check=check).stdout


def show(root: Path, rev: str, path: str) -> str:
    """A git-tracked file's text at ``rev``."""
    r = run(root, "git", "show", f"{rev}:{path}", check=False)
    if r.returncode != 0:
        raise SnapshotError(f"{path} is not in git at {rev!r}: {r.stderr.strip()}")
    return r.stdout


def versions(root: Path, dataset: str | None = None) -> list[str]:
    """Snapshot tags, by data set then version number."""
    tags = []
    for t in git(root, "tag", "--list", "*@v*").split():
        try:
            ds, n = parse_tag(t)
        except SnapshotError:
            continue
        if dataset is None or ds == dataset:
            tags.append((ds, n, t))
    return [t for _, _, t in sorted(tags)]


def shared_paths(dataset: str) -> list[str]:
    """The DVC-cached outputs a snapshot shares (the card and headline metrics are in git)."""
    d = f"data/{check_dataset(dataset)}"
    return [f"{d}/raw/ledger.parquet", f"{d}/raw/source.json", f"{d}/clips/ledger.parquet", f"{d}/shards"]


def lock_outs(root: Path, rev: str, dataset: str) -> dict[str, dict[str, Any]]:
    """The shared outputs (``shared_paths``) in dvc.lock at ``rev``: path -> {md5, size, nfiles?}."""
    lock = yaml.safe_load(show(root, rev, "dvc.lock")) or {}
    outs: dict[str, dict[str, Any]] = {}
    for stage in stages(dataset):
        entry = lock.get("stages", {}).get(stage)
        if entry is None:
            raise SnapshotError(f"dvc.lock at {rev!r} has no stage {stage}: build it first (dvc repro {stage})")
        for out in entry.get("outs", []):
            outs[out["path"]] = out
    absent = [p for p in shared_paths(dataset) if p not in outs]
    if absent:
        raise SnapshotError(
            f"dvc.lock at {rev!r} has no outputs {absent}: it predates shareable snapshots (rebuild the data set)"
        )
    return {p: outs[p] for p in shared_paths(dataset)}


def card_at(root: Path, rev: str, dataset: str) -> dict[str, Any]:
    return json.loads(show(root, rev, f"data/{dataset}/card.json"))


class Objects:
    """Content-addressed DVC objects of the local cache or of a remote (``remote``: a name, "" for the default)."""

    def __init__(self, root: Path, remote: str | None):
        from dvc.repo import Repo

        self._repo = Repo(str(root))
        if remote is None:
            self.odb = self._repo.cache.local
            self.where = "the local cache"
        else:
            self.odb = self._repo.cloud.get_remote_odb(remote or None, command="snapshot")
            self.where = f"remote {remote or self._repo.config['core'].get('remote')!r} ({self.odb.path})"

    def close(self) -> None:
        self._repo.close()

    def __enter__(self) -> Objects:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def path(self, md5: str) -> str:
        return self.odb.oid_to_path(md5)

    def exists(self, md5: str) -> bool:
        return bool(self.odb.fs.exists(self.path(md5)))

    def open(self, md5: str) -> Any:
        return self.odb.fs.open(self.path(md5), mode="rb")

    def read(self, md5: str) -> bytes:
        with self.open(md5) as f:
            return f.read()

    def url(self, md5: str) -> str:
        """What a generic reader can open: a local path, or ``protocol://path`` on a cloud remote."""
        protocol = self.odb.fs.protocol
        protocol = protocol[0] if isinstance(protocol, (tuple, list)) else protocol
        p = self.path(md5)
        return p if protocol in ("local", "file") else f"{protocol}://{p}"

    def directory(self, md5: str) -> dict[str, str]:
        """A tracked folder's manifest (``<md5>.dir``): relative path -> md5."""
        return {e["relpath"]: e["md5"] for e in json.loads(self.read(md5))}
