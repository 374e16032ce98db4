"""Training data of the video model: every Landscape clip decoded once into memory-mapped arrays on disk.

Per clip: its frames at the generation frame rate (centre-cropped to a square, Lanczos-resized to the generator's
resolution) and, per frame, the log-mel window of its sound (``audio_windows.frame_windows``, the front-end that
generation uses too). The folder is named by a hash of everything that shapes its content (the shards' sha256,
fps, resolution, window, mel params, class names, splits), built in a temporary folder and renamed when complete,
so a second build with the same inputs opens it without decoding anything and a changed input gets a new folder.

Layout of ``<cache_root>/video-<key>/``: ``frames.npy`` uint8 [N, F, R, R, 3], ``mels.npy`` float16
[N, F, n_mels, W], ``labels.npy`` int64 [N], ``cache.json`` (keys, splits, class names, params, skipped clips
with their reasons). Rows are in sorted key order.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sound2video.core.fsutil import sha256_file, write_json_atomic
from sound2video.core.log import progress
from sound2video.media.argv import decode_rgb_command, square_frames_filter
from sound2video.media.runner import MediaError, ToolMissing, run_tool
from sound2video.models.audio.mel import MelParams
from sound2video.models.video.audio_windows import AudioInputError, decode_audio, frame_windows, window_shape

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when the decoding below changes what a cache holds
META_NAME = "cache.json"
INDEX_NAME = "index.json"  # written by the shard stage beside its tars, with each shard's sha256


class CacheError(ValueError):
    """A cache folder that cannot be opened, or shards that cannot make one; the message names the path."""


@dataclass
class VideoCache:
    """An opened cache: memory-mapped arrays plus their row metadata (row i = ``keys[i]``)."""

    folder: Path
    key: str
    frames: np.ndarray  # uint8 [N, F, R, R, 3], read-only memory map
    mels: np.ndarray  # float16 [N, F, n_mels, W], read-only memory map
    labels: np.ndarray  # int64 [N], indices into class_names
    splits: list[str]
    keys: list[str]
    class_names: list[str]  # the requested classes that occur in the cache, in the requested order
    fps: float
    resolution: int
    window_seconds: float
    mel: MelParams
    skipped: list[dict[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)

    def rows(self, split: str) -> np.ndarray:
        """Row indices of one split (sorted)."""
        return np.array([i for i, s in enumerate(self.splits) if s == split], dtype=np.int64)

    @classmethod
    def open(cls, folder: str | Path) -> VideoCache:
        folder = Path(folder)
        meta_path = folder / META_NAME
        if not meta_path.is_file():
            raise CacheError(f"{folder}: not a video cache (no {META_NAME})")
        meta = json.loads(meta_path.read_text())
        if meta.get("version") != CACHE_VERSION:
            raise CacheError(f"{folder}: cache version {meta.get('version')}, this code reads {CACHE_VERSION}")
        try:
            frames = np.load(folder / "frames.npy", mmap_mode="r")
            mels = np.load(folder / "mels.npy", mmap_mode="r")
            labels = np.load(folder / "labels.npy")
        except (OSError, ValueError) as e:
            raise CacheError(f"{folder}: unreadable cache array ({e})") from None
        n = len(meta["keys"])
        if not (frames.shape[0] == mels.shape[0] == labels.shape[0] == len(meta["splits"]) == n):
            raise CacheError(f"{folder}: arrays and cache.json disagree on the number of clips")
        return cls(
            folder=folder,
            key=meta["key"],
            frames=frames,
            mels=mels,
            labels=labels.astype(np.int64),
            splits=list(meta["splits"]),
            keys=list(meta["keys"]),
            class_names=list(meta["class_names"]),
            fps=float(meta["fps"]),
            resolution=int(meta["resolution"]),
            window_seconds=float(meta["window_seconds"]),
            mel=MelParams(**meta["mel"]),
            skipped=list(meta.get("skipped", [])),
        )


# ----------------------------------------------------------------------------------------- shard reading ----


@dataclass(frozen=True)
class _Member:
    shard: Path
    offset: int
    size: int

    def read(self) -> bytes:
        with open(self.shard, "rb") as f:
            f.seek(self.offset)
            return f.read(self.size)


def _split_name(name: str) -> tuple[str, str]:
    """WebDataset's rule: the key ends at the first dot after the last slash; the rest is the field."""
    slash = name.rfind("/")
    dot = name.find(".", slash + 1)
    return (name, "") if dot < 0 else (name[:dot], name[dot + 1 :])


def _scan(shards: list[Path]) -> dict[str, dict[str, _Member]]:
    """Every sample's fields -> where their bytes lie in the tars (no payload is read)."""
    samples: dict[str, dict[str, _Member]] = {}
    for shard in shards:
        try:
            with tarfile.open(shard, "r:") as tf:
                for info in tf:
                    if not info.isfile():
                        continue
                    key, ext = _split_name(info.name)
                    samples.setdefault(key, {})[ext] = _Member(shard, info.offset_data, info.size)
        except tarfile.TarError as e:
            raise CacheError(f"{shard}: not a readable tar shard ({e})") from None
    return samples


def _shard_digests(shards: list[Path], shards_dir: Path) -> list[tuple[str, str]]:
    """(name, sha256) per shard: from the shard stage's index.json when it lists them all, else hashed here."""
    known: dict[str, str] = {}
    index = shards_dir / INDEX_NAME
    if index.is_file():
        known = {e["shard"]: e["sha256"] for e in json.loads(index.read_text()).get("shards", []) if "sha256" in e}
    return [(s.name, known.get(s.name) or sha256_file(s)) for s in shards]


def cache_key(
    digests: list[tuple[str, str]],
    class_names: list[str],
    fps: float,
    resolution: int,
    window_seconds: float,
    mel: MelParams,
    splits: tuple[str, ...],
) -> str:
    shaping = {
        "version": CACHE_VERSION,
        "shards": digests,
        "class_names": list(class_names),
        "fps": float(fps),
        "resolution": int(resolution),
        "window_seconds": float(window_seconds),
        "mel": mel.model_dump(),
        "splits": list(splits),
    }
    return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()[:16]


# -------------------------------------------------------------------------------------------- decoding ----


class ClipError(ValueError):
    """One clip that cannot be decoded; it is skipped and its reason recorded."""


def decode_frames(path: Path, fps: float, resolution: int, count: int, name: str | None = None) -> np.ndarray:
    """uint8 [count, R, R, 3]: the first ``count`` frames at ``fps``, centre-cropped to a square and Lanczos-resized
    to ``resolution``. A clip one frame short (rounding at its end) repeats its last frame; a shorter one, or one
    that does not decode, raises ClipError (ffmpeg's reason names the file as ``name``, default its path)."""
    name = name or str(path)
    cmd = decode_rgb_command(path, square_frames_filter(fps, resolution), count)
    try:
        data = run_tool(cmd, name, aliases={str(path): name}, tail_lines=1)
    except ToolMissing:
        raise
    except MediaError as e:
        raise ClipError(f"video does not decode ({e.reason})") from None
    size = resolution * resolution * 3
    got = len(data) // size
    frames = np.frombuffer(data[: got * size], np.uint8).reshape(got, resolution, resolution, 3)
    if got < count - 1 or got == 0:
        raise ClipError(f"video gives {got} frames at {fps:g} fps, {count} expected")
    if got < count:
        frames = np.concatenate([frames, frames[-1:]])
    return frames


def _decode_clip(
    sample: dict[str, _Member], fps: float, resolution: int, count: int, window_seconds: float, mel: MelParams
) -> tuple[np.ndarray, np.ndarray]:
    """(frames uint8 [F, R, R, 3], windows float16 [F, n_mels, W]) of one sample; raises ClipError."""
    with tempfile.TemporaryDirectory(prefix="s2v-cache-") as tmp:
        mp4 = Path(tmp) / "clip.mp4"
        mp4.write_bytes(sample["mp4"].read())
        frames = decode_frames(mp4, fps, resolution, count, name="mp4 member")
        # The lossless flac member is the clip's sound; the mp4's AAC track only stands in when it is absent.
        sound = mp4
        if "flac" in sample:
            sound = Path(tmp) / "clip.flac"
            sound.write_bytes(sample["flac"].read())
        try:
            wave = decode_audio(sound, mel.sample_rate, name=sound.suffix.lstrip(".") + " member")
        except AudioInputError as e:
            raise ClipError(str(e)) from None
    windows = frame_windows(wave, mel, fps, window_seconds, first=0, count=count)
    return frames, windows.astype(np.float16)


def _in_order(executor: ThreadPoolExecutor, jobs: Iterator[tuple[Any, ...]], ahead: int) -> Iterator[Future]:
    """Submit ``jobs`` keeping at most ``ahead`` in flight; yield their futures in submission order."""
    pending: list[Future] = []
    for job in jobs:
        pending.append(executor.submit(*job))
        if len(pending) >= ahead:
            yield pending.pop(0)
    yield from pending


# ---------------------------------------------------------------------------------------------- building ----


def build_cache(
    shards_dir: Path,
    cache_root: Path,
    class_names: list[str],
    fps: float,
    resolution: int,
    window_seconds: float,
    mel: MelParams,
    splits: tuple[str, ...] = ("train", "val", "test"),
    workers: int = 2,
) -> VideoCache:
    """Open the cache for these inputs, building it first when it does not exist (see the module docstring).

    Samples come from ``<split>-*.tar`` in ``shards_dir``, in sorted key order. A clip that does not decode is
    skipped, logged and listed with its reason in cache.json. Decoding runs in ``workers`` threads: the work is
    in ffmpeg processes, so threads keep both cores busy without copying clips between processes.
    """
    shards_dir, cache_root = Path(shards_dir), Path(cache_root)
    shards = sorted(p for split in splits for p in shards_dir.glob(f"{split}-*.tar"))
    if not shards:
        raise CacheError(f"{shards_dir}: no shards for splits {list(splits)} (run the shard stage of landscape)")
    if not fps > 0 or resolution < 1 or not window_seconds > 0:
        raise CacheError(
            f"fps, resolution and window_seconds must be positive (got {fps}, {resolution}, {window_seconds})"
        )
    key = cache_key(_shard_digests(shards, shards_dir), class_names, fps, resolution, window_seconds, mel, splits)
    final = cache_root / f"video-{key}"
    if (final / META_NAME).is_file():
        log.info("video cache: reusing %s", final)
        return VideoCache.open(final)
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".video-{key}.", suffix=".tmp", dir=cache_root))
    try:
        _build(tmp, key, shards, class_names, fps, resolution, window_seconds, mel, splits, workers)
        if final.exists():  # a half-made folder cannot exist (rename is atomic): this is another builder's
            shutil.rmtree(tmp)
        else:
            os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return VideoCache.open(final)


def _build(
    folder: Path,
    key: str,
    shards: list[Path],
    class_names: list[str],
    fps: float,
    resolution: int,
    window_seconds: float,
    mel: MelParams,
    splits: tuple[str, ...],
    workers: int,
) -> None:
    samples = _scan(shards)
    metas, skipped = _usable(samples, class_names, splits)
    if not metas:
        raise CacheError(f"{shards[0].parent}: no usable samples in the shards of {list(splits)}")
    keys = sorted(metas)
    count = min(int(round(metas[k]["seconds"] * fps)) for k in keys)  # all clips have this many frames
    if count < 1:
        raise CacheError(f"clips are shorter than one frame at {fps:g} fps")
    jobs = ((_decode_clip, samples[k], fps, resolution, count, window_seconds, mel) for k in keys)
    kept = _decode_into(folder, jobs, keys, (count, resolution, window_shape(mel, window_seconds)), workers, skipped)
    if not kept:
        raise CacheError(f"{shards[0].parent}: no clip could be decoded ({skipped[0]['reason']}, ...)")
    keys = [keys[i] for i in kept]
    present = {metas[k]["class"] for k in keys}
    names = [c for c in class_names if c in present]
    np.save(folder / "labels.npy", np.array([names.index(metas[k]["class"]) for k in keys], dtype=np.int64))
    write_json_atomic(
        folder / META_NAME,
        {
            "version": CACHE_VERSION,
            "key": key,
            "keys": keys,
            "splits": [metas[k]["split"] for k in keys],
            "class_names": names,
            "fps": float(fps),
            "resolution": int(resolution),
            "window_seconds": float(window_seconds),
            "mel": mel.model_dump(),
            "frames_per_clip": count,
            "window_shape": list(window_shape(mel, window_seconds)),
            "shards": [s.name for s in shards],
            "skipped": sorted(skipped, key=lambda s: s["key"]),
        },
    )
    log.info(
        "video cache: %d clips x %d frames at %g fps, %dpx (%d skipped) in %s",
        len(keys),
        count,
        fps,
        resolution,
        len(skipped),
        folder,
    )


def _usable(
    samples: dict[str, dict[str, _Member]], class_names: list[str], splits: tuple[str, ...]
) -> tuple[dict[str, dict[str, Any]], list[dict[str, str]]]:
    """(json meta plus clip ``seconds`` per key of the wanted splits, skipped samples with their reasons)."""
    skipped: list[dict[str, str]] = []
    metas: dict[str, dict[str, Any]] = {}
    for k in sorted(samples):
        fields = samples[k]
        try:
            meta = json.loads(fields["json"].read())
            if "mp4" not in fields:
                raise ClipError("sample has no mp4 member (shard it with include_mp4: true)")
            if meta.get("split") not in splits:
                continue
            seconds = float(meta["end"]) - float(meta["start"])
        except (KeyError, ValueError, TypeError) as e:
            reason = str(e) if isinstance(e, ClipError) else f"unusable json member ({e.__class__.__name__}: {e})"
            skipped.append({"key": k, "reason": reason})
            continue
        if meta.get("class") not in class_names:
            raise CacheError(f"sample {k} has class {meta.get('class')!r}, not among {class_names}")
        metas[k] = meta | {"seconds": seconds}
    return metas, skipped


def _decode_into(
    folder: Path,
    jobs: Iterator[tuple[Any, ...]],
    keys: list[str],
    shape: tuple[int, int, tuple[int, int]],
    workers: int,
    skipped: list[dict[str, str]],
) -> list[int]:
    """Decode every clip (``jobs``, one per key) into ``frames.npy`` and ``mels.npy`` in ``folder``, ``shape``
    being (frames per clip, resolution, (n_mels, W)); returns the rows kept, skipped clips appended to ``skipped``.
    """
    count, resolution, (n_mels, width) = shape
    frames = np.lib.format.open_memmap(
        folder / "frames.npy", mode="w+", dtype=np.uint8, shape=(len(keys), count, resolution, resolution, 3)
    )
    mels = np.lib.format.open_memmap(
        folder / "mels.npy", mode="w+", dtype=np.float16, shape=(len(keys), count, n_mels, width)
    )
    kept: list[int] = []
    with (
        ThreadPoolExecutor(max_workers=max(1, workers)) as pool,
        progress(total=len(keys), desc="video cache", unit="clip") as bar,
    ):
        for i, fut in enumerate(_in_order(pool, jobs, ahead=2 * max(1, workers))):
            try:
                frames[i], mels[i] = fut.result()
                kept.append(i)
            except ClipError as e:
                skipped.append({"key": keys[i], "reason": str(e)})
                log.warning("video cache: skipped clip %s: %s", keys[i], e)
            bar.update()
    if kept and len(kept) < len(keys):  # compact: rare, so simply rewrite the arrays without the skipped rows
        frames, mels = _compact(folder / "frames.npy", frames, kept), _compact(folder / "mels.npy", mels, kept)
    frames.flush()
    mels.flush()
    del frames, mels
    return kept


def _compact(path: Path, arr: np.ndarray, kept: list[int]) -> np.memmap:
    tmp = path.with_suffix(".compact.npy")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=arr.dtype, shape=(len(kept), *arr.shape[1:]))
    for j, i in enumerate(kept):
        out[j] = arr[i]
    out.flush()
    del arr
    os.replace(tmp, path)
    return out
