"""`snapshot verify VERSION`: re-hash every object of a version in the remote against dvc.lock and the index."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sound2video.data.snapshot.repo import Objects, SnapshotError, lock_outs, parse_tag


def _hashes(stream: Any) -> tuple[str, str, int]:
    md5, sha = hashlib.md5(), hashlib.sha256()  # md5: DVC's object address, not a security measure
    size = 0
    while block := stream.read(1 << 20):
        md5.update(block)
        sha.update(block)
        size += len(block)
    return md5.hexdigest(), sha.hexdigest(), size


def verify(root: Path, version: str, remote: str | None = "") -> dict[str, Any]:
    """Every output of the version's data stages (ledgers, source record, each shard and index.json) must be in
    the remote with the bytes its dvc.lock hash names; each shard must also match index.json's sha256 and size.
    Returns a report: checked, bytes, missing and corrupted names (empty lists: the version is intact)."""
    dataset, _ = parse_tag(version)
    outs = lock_outs(root, version, dataset)
    missing: list[str] = []
    corrupted: list[str] = []
    checked = total = 0
    with Objects(root, remote) as objects:
        files: dict[str, str] = {}
        for path, out in sorted(outs.items()):
            md5 = out["md5"]
            if md5.endswith(".dir"):
                if not objects.exists(md5):
                    missing.append(f"{path}/ (folder manifest {md5})")
                    continue
                try:
                    files |= {f"{path}/{rel}": m for rel, m in objects.directory(md5).items()}
                except (ValueError, KeyError, TypeError):
                    corrupted.append(f"{path}/ (folder manifest {md5} unreadable)")
            else:
                files[path] = md5
        sha_of: dict[str, tuple[str, int]] = {}
        for name, md5 in sorted(files.items()):
            if not objects.exists(md5):
                missing.append(name)
                continue
            with objects.open(md5) as f:
                got_md5, got_sha, size = _hashes(f)
            checked += 1
            total += size
            if got_md5 != md5:
                corrupted.append(f"{name} (md5 {got_md5}, dvc.lock says {md5})")
            sha_of[name] = (got_sha, size)
        shards_dir = f"data/{dataset}/shards"
        index_md5 = files.get(f"{shards_dir}/index.json")
        if (
            index_md5
            and f"{shards_dir}/index.json" in sha_of
            and not any(n.startswith(f"{shards_dir}/index") for n in corrupted)
        ):
            index = json.loads(objects.read(index_md5))
            for entry in index["shards"]:
                name = f"{shards_dir}/{entry['shard']}"
                if name not in files:
                    missing.append(f"{name} (listed in index.json, not in the version)")
                elif name in sha_of and sha_of[name] != (entry["sha256"], entry["bytes"]):
                    corrupted.append(f"{name} (sha256/size differ from index.json)")
        where = objects.where
    if not files and not missing:
        raise SnapshotError(f"{version}: no outputs found in dvc.lock")
    return {
        "version": version,
        "remote": where,
        "checked": checked,
        "bytes": total,
        "missing": sorted(set(missing)),
        "corrupted": sorted(set(corrupted)),
        "ok": not missing and not corrupted,
    }


def render(report: dict[str, Any]) -> str:
    head = f"{report['version']} in {report['remote']}: {report['checked']} objects, {report['bytes']} bytes re-hashed"
    lines = [head + (": OK" if report["ok"] else ": PROBLEMS")]
    lines += [f"  missing: {n}" for n in report["missing"]]
    lines += [f"  corrupted: {n}" for n in report["corrupted"]]
    return "\n".join(lines) + "\n"
