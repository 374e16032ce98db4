"""`snapshot diff A B`: clips added and removed per class and split, shard bytes, changed params."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from sound2video.data.snapshot.repo import Objects, SnapshotError, lock_outs, parse_tag, show

INDEX_PATH = "data/{ds}/shards/index.json"


def read_index(root: Path, rev: str, dataset: str, remote: str | None = "") -> dict[str, Any]:
    """The shard index at ``rev``, from the local cache, else from ``remote`` (default: the default remote)."""
    shards = lock_outs(root, rev, dataset).get(f"data/{dataset}/shards")
    if shards is None:
        raise SnapshotError(f"dvc.lock at {rev!r} has no output data/{dataset}/shards")
    for where in (None, remote):
        with Objects(root, where) as objects:
            if objects.exists(shards["md5"]):
                md5 = objects.directory(shards["md5"]).get("index.json")
                if md5 and objects.exists(md5):
                    return json.loads(objects.read(md5))
    raise SnapshotError(f"data/{dataset}/shards/index.json of {rev!r} is in neither the cache nor the remote")


def _clips(index: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """(split, class) -> keys."""
    out: dict[tuple[str, str], set[str]] = {}
    for shard in index["shards"]:
        if "clips" not in shard:
            raise SnapshotError("this index.json predates per-clip keys (schema 1.0): rebuild the version to diff it")
        for key, cls in shard["clips"].items():
            out.setdefault((shard["split"], cls), set()).add(key)
    return out


def _flat(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out |= _flat(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    return {prefix: value}


def _params(root: Path, rev: str, dataset: str) -> dict[str, Any]:
    data = yaml.safe_load(show(root, rev, "params.yaml")) or {}
    out: dict[str, Any] = {"profile": data.get("profile")}
    out |= _flat((data.get("label_tables") or {}).get(dataset), f"label_tables.{dataset}")
    for section in ("download", "cut", "shard"):
        out |= _flat((data.get(section) or {}).get(dataset), f"{section}.{dataset}")
    return out


def diff(root: Path, a: str, b: str, dataset: str | None = None) -> dict[str, Any]:
    """Compare two versions (tags ``DATASET@vN``, or any git revisions with ``dataset``)."""
    if dataset is None:
        dataset, other = parse_tag(a)[0], parse_tag(b)[0]
        if other != dataset:
            raise SnapshotError(f"{a} and {b} are versions of different data sets")
    ia, ib = read_index(root, a, dataset), read_index(root, b, dataset)
    ca, cb = _clips(ia), _clips(ib)
    added: dict[str, dict[str, list[str]]] = {}
    removed: dict[str, dict[str, list[str]]] = {}
    for split, cls in sorted(set(ca) | set(cb)):
        plus = sorted(cb.get((split, cls), set()) - ca.get((split, cls), set()))
        minus = sorted(ca.get((split, cls), set()) - cb.get((split, cls), set()))
        if plus:
            added.setdefault(split, {})[cls] = plus
        if minus:
            removed.setdefault(split, {})[cls] = minus
    pa, pb = _params(root, a, dataset), _params(root, b, dataset)
    params = {k: [pa.get(k), pb.get(k)] for k in sorted(set(pa) | set(pb)) if pa.get(k) != pb.get(k)}
    bytes_a = sum(s["bytes"] for s in ia["shards"])
    bytes_b = sum(s["bytes"] for s in ib["shards"])
    sha_a = {s["shard"]: s["sha256"] for s in ia["shards"]}
    sha_b = {s["shard"]: s["sha256"] for s in ib["shards"]}
    changed = sorted(k for k in sha_a.keys() | sha_b.keys() if sha_a.get(k) != sha_b.get(k))
    return {
        "dataset": dataset,
        "a": a,
        "b": b,
        "samples": [ia["samples"], ib["samples"]],
        "bytes": [bytes_a, bytes_b],
        "added": added,
        "removed": removed,
        "shards_changed": changed,
        "params": params,
    }


def render(d: dict[str, Any]) -> str:
    lines = [
        f"{d['dataset']}: {d['a']} -> {d['b']}",
        f"clips: {d['samples'][0]} -> {d['samples'][1]}; shard bytes: {d['bytes'][0]} -> {d['bytes'][1]} "
        f"({d['bytes'][1] - d['bytes'][0]:+d}); shards changed: {len(d['shards_changed'])}",
    ]
    for word, part in (("added", d["added"]), ("removed", d["removed"])):
        for split, by_class in part.items():
            for cls, keys in by_class.items():
                shown = ", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "")
                lines.append(f"  {word} {split}/{cls}: {len(keys)} ({shown})")
    if not d["added"] and not d["removed"]:
        lines.append("  same clips")
    for key, (va, vb) in d["params"].items():
        lines.append(f"  param {key}: {va!r} -> {vb!r}")
    return "\n".join(lines) + "\n"
