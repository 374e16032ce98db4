"""Resolve a local path or an http(s) URL to a local file, with an optional sha256 check and a local cache."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from sound2video.core.fsutil import atomic_path, safe_id, sha256_file


class FetchError(RuntimeError):
    """A file could not be fetched or failed its checksum."""


def default_cache_dir() -> Path:
    return Path(os.environ.get("SOUND2VIDEO_CACHE", Path.home() / ".cache" / "sound2video"))


def is_url(spec: str) -> bool:
    return urlparse(spec).scheme in ("http", "https")


def resolve(spec: str, sha256: str | None = None, cache_dir: str | Path | None = None, timeout: float = 60.0) -> Path:
    """Return a local path for ``spec`` (a path or an http(s) URL), verifying ``sha256`` when given.

    URLs are downloaded once into the cache (named by the URL's hash), written atomically, and re-verified on use.
    """
    if not is_url(spec):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise FetchError(f"{spec}: no such file")
        _check(path, sha256, spec)
        return path
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    name = Path(urlparse(spec).path).name or "download"
    target = cache / hashlib.sha256(spec.encode()).hexdigest()[:16] / safe_id(name.replace(".", "_"))
    if not target.is_file():
        try:
            with urllib.request.urlopen(spec, timeout=timeout) as resp, atomic_path(target) as tmp:
                with open(tmp, "wb") as f:
                    while block := resp.read(1 << 20):
                        f.write(block)
        except (urllib.error.URLError, OSError) as e:
            raise FetchError(f"could not download {spec}: {e} (offline? give a local path instead)") from None
    _check(target, sha256, spec)
    return target


def _check(path: Path, sha256: str | None, spec: str) -> None:
    if sha256:
        got = sha256_file(path)
        if got != sha256.lower():
            raise FetchError(f"{spec}: sha256 mismatch: expected {sha256.lower()}, got {got}")
