"""Small filesystem helpers: atomic writes, hashing, safe names built from external ids."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


def safe_id(raw: str) -> str:
    """Turn an external identifier into a key usable as a file name and a WebDataset key (no dots, no slashes).

    Identifiers that are already safe are kept as they are; others are sanitised and get a short hash of the
    original appended, so two different raw ids never collide after sanitising.
    """
    raw = str(raw).strip()
    if not raw:
        raise ValueError("empty identifier")
    if _SAFE_ID.match(raw) and not raw.startswith("-"):
        return raw
    cleaned = _UNSAFE_CHARS.sub("_", raw).strip("_-")[:80] or "id"
    digest = hashlib.sha1(raw.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned}_{digest}"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@contextmanager
def atomic_path(final: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; on success it is renamed onto ``final``, on error removed."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix or f".tmp{final.suffix}", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def write_parquet_atomic(df: "Any", path: str | Path) -> None:
    """Write a pandas DataFrame to parquet atomically, without the index."""
    with atomic_path(path, suffix=".tmp.parquet") as tmp:
        df.to_parquet(tmp, index=False)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def inside(base: str | Path, candidate: str | Path) -> Path:
    """Return ``candidate`` resolved, after checking it lies inside ``base`` (guards paths built from external names)."""
    base_r = Path(base).resolve()
    cand_r = Path(candidate).resolve()
    if cand_r != base_r and base_r not in cand_r.parents:
        raise ValueError(f"path {candidate} escapes {base}")
    return cand_r
