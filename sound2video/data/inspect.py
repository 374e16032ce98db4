"""Summaries of shards, shard folders and ledgers for ``sound2video data inspect``."""

from __future__ import annotations

import json
import tarfile
from collections import Counter
from pathlib import Path
from typing import Any


def inspect_tar(path: Path) -> dict[str, Any]:
    """Count samples and fields of a WebDataset tar and show the first sample's json."""
    keys: dict[str, set[str]] = {}
    classes: Counter = Counter()
    first_json = None
    size = 0
    with tarfile.open(path) as tar:
        for m in tar:
            if not m.isfile():
                continue
            size += m.size
            name = Path(m.name).name
            key, _, ext = name.partition(".")
            keys.setdefault(key, set()).add(ext)
            if ext == "json":
                meta = json.loads(tar.extractfile(m).read())  # type: ignore[union-attr]
                classes[meta.get("class")] += 1
                first_json = first_json or meta
    fields = Counter(ext for exts in keys.values() for ext in exts)
    return {
        "path": str(path),
        "samples": len(keys),
        "member_bytes": size,
        "fields": dict(sorted(fields.items())),
        "classes": dict(sorted(classes.items())),
        "first_sample": first_json,
    }


def inspect_ledger(path: Path) -> dict[str, Any]:
    import pandas as pd

    df = pd.read_parquet(path)
    out: dict[str, Any] = {"path": str(path), "rows": len(df), "columns": list(df.columns)}
    if "status" in df:
        out["status"] = {str(k): int(v) for k, v in Counter(df["status"]).most_common()}
    if "reason" in df:
        bad = df["reason"].dropna()
        out["reasons"] = {str(k): int(v) for k, v in Counter(str(r).split(":")[0] for r in bad).most_common(10)}
    if "class" in df:
        out["classes"] = {str(k): int(v) for k, v in sorted(Counter(df["class"].dropna()).items())}
    return out


def inspect_dir(path: Path) -> dict[str, Any]:
    index = path / "index.json"
    if index.is_file():
        data = json.loads(index.read_text())
        per_split: Counter = Counter()
        for s in data["shards"]:
            per_split[s["split"]] += s["samples"]
        return {
            "path": str(path),
            "shards": len(data["shards"]),
            "samples": data["samples"],
            "per_split": dict(per_split),
            "bytes": sum(s["bytes"] for s in data["shards"]),
        }
    ledgers = sorted(path.glob("*.parquet"))
    if ledgers:
        return inspect_ledger(ledgers[0])
    tars = sorted(path.glob("*.tar"))
    if tars:
        return {"path": str(path), "shards": [inspect_tar(t) for t in tars]}
    raise ValueError(f"{path}: no index.json, ledger (*.parquet) or shards (*.tar) found")


def inspect_path(path: str | Path) -> dict[str, Any]:
    """Summarise a shard (.tar), a ledger (.parquet) or a folder holding either."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or folder")
    if p.is_dir():
        return inspect_dir(p)
    if p.suffix == ".tar":
        return inspect_tar(p)
    if p.suffix == ".parquet":
        return inspect_ledger(p)
    raise ValueError(f"{p}: expected a .tar shard, a .parquet ledger or a folder")
