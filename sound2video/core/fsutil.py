"""Small filesystem helpers: atomic writes, hashing, safe names built from external ids."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


PARQUET_CREATED_BY = b"sound2video"  # written instead of "parquet-cpp-arrow version X.Y.Z"


def write_parquet_atomic(df: Any, path: str | Path) -> None:
    """Write a pandas DataFrame to parquet atomically, without the index, and without anything that names the
    installed library versions (pandas' and Arrow's schema metadata, the writer's ``created_by``), so the bytes depend
    on the rows only, not on the day the environment was installed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    with atomic_path(path, suffix=".tmp.parquet") as tmp:
        pq.write_table(table, tmp, store_schema=False, compression="snappy")
        _restamp_created_by(tmp)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _restamp_created_by(path: Path) -> None:
    """Replace the footer's ``created_by`` string (thrift compact: length varint + bytes) with a constant; the footer
    is the file's tail, so only its length word changes. Leaves the file alone if the string is not found."""
    data = path.read_bytes()
    if len(data) < 12 or data[-4:] != b"PAR1":
        raise ValueError(f"{path}: not a parquet file")
    footer_len = int.from_bytes(data[-8:-4], "little")
    start = len(data) - 8 - footer_len
    footer = data[start:-8]
    marker = b"parquet-cpp-arrow version "
    at = footer.find(marker)
    if at < 0:
        return
    end = at + len(marker)
    while end < len(footer) and footer[end : end + 1] in b"0123456789.-abcdefghijklmnopqrstuvwxyzSNAPHOT":
        end += 1
    old = footer[at:end]
    prefix = _varint(len(old))
    if footer[at - len(prefix) : at] != prefix:
        return
    new_footer = footer[: at - len(prefix)] + _varint(len(PARQUET_CREATED_BY)) + PARQUET_CREATED_BY + footer[end:]
    path.write_bytes(data[:start] + new_footer + len(new_footer).to_bytes(4, "little") + b"PAR1")


def write_metrics(path: str | Path, result: dict[str, Any], headline: list[str], details: str | Path) -> None:
    """The DVC-declared metrics file gets the ``headline`` numbers only (so ``dvc metrics show`` stays readable);
    ``details`` gets everything (notes, per-source tables, model hashes)."""
    write_json_atomic(details, result)
    write_json_atomic(path, {k: result[k] for k in headline if k in result})


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
