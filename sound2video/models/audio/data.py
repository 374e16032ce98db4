"""Training features from WebDataset shards: log-mels (computed in DataLoader workers) and frozen-CLIP image
embeddings (mean over the sample's JPEG frames), sorted by key so every run sees the same order."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from sound2video.models.audio.mel import MelParams, load_audio, log_mel


@dataclass
class Features:
    keys: list[str]
    labels: np.ndarray  # (N,) class names' indices in ``class_names``
    mels: np.ndarray  # (N, n_mels, frames): float32 in memory, or a float16 memory map on disk (paper scale)
    images: np.ndarray | None  # (N, D) L2-normalised CLIP image embeddings, or None without frames
    source_ids: list[str]  # each sample's source item (a VGG-Sound segment: ``<youtube_id>_<start:06d>``)


def _decode(sample: dict[str, Any], mel: MelParams) -> tuple[str, str, str, np.ndarray, np.ndarray | None]:
    import json

    from PIL import Image

    meta = json.loads(sample["json"])
    wave = load_audio(sample["flac"], mel, name=f"{sample['__key__']}.flac")
    frames = [
        np.asarray(Image.open(io.BytesIO(sample[k])).convert("RGB"))
        for k in sorted(k for k in sample if k.startswith("frame") and k.endswith(".jpg"))
    ]
    frames_or_none = np.stack(frames) if frames else None
    return sample["__key__"], meta["class"], meta["source_id"], log_mel(wave, mel), frames_or_none


def _as_is(sample: Any) -> Any:
    """Keep numpy arrays as they are (the default collate turns them into tensors)."""
    return sample


def read_shards(
    shards: list[Path],
    mel: MelParams,
    class_names: list[str],
    clip: Any | None,
    num_workers: int = 2,
    cache: Path | None = None,
) -> Features:
    """Decode every sample of ``shards`` (in DataLoader workers); ``clip`` (a metrics ClipModel) embeds the frames.

    With ``cache``, mels go to a float16 memory-mapped ``.npy`` there instead of memory (VGG-Sound at full size is
    about 12 GB that way), sized from the shard folder's ``index.json``. Rows are sorted by key either way.
    """
    import torch
    import webdataset as wds

    if not shards:
        raise FileNotFoundError("no shards to read (run the shard stage of the training data set first)")
    ds = wds.WebDataset([str(s) for s in shards], shardshuffle=False, empty_check=False).map(partial(_decode, mel=mel))
    loader = torch.utils.data.DataLoader(
        ds, batch_size=None, num_workers=min(num_workers, len(shards)), collate_fn=_as_is
    )
    n = _count(shards)
    shape = (n, mel.n_mels, mel.num_frames)
    mels = (
        np.lib.format.open_memmap(cache, mode="w+", dtype=np.float16, shape=shape)
        if cache is not None
        else np.empty(shape, np.float32)
    )
    keys, names, sources, images = [], [], [], []
    for i, (key, cls, source, m, frames) in enumerate(loader):
        if cls not in class_names:
            raise ValueError(f"sample {key} has class {cls!r}, not among {class_names}")
        mels[i] = m
        keys.append(key)
        names.append(cls)
        sources.append(source)
        if clip is not None and frames is not None:
            images.append(clip.embed_frames(frames).mean(axis=0))
    if len(keys) != n:
        raise ValueError(f"index.json promises {n} samples but the shards hold {len(keys)}")
    order = np.argsort(np.array(keys))
    embedded = None
    if images and len(images) == n:
        embedded = np.stack(images).astype(np.float32)[order]
        embedded /= np.linalg.norm(embedded, axis=1, keepdims=True) + 1e-12
    if cache is not None:
        mels.flush()
        mels = _reorder_on_disk(mels, order, cache)
    else:
        mels = mels[order]
    return Features(
        keys=[keys[i] for i in order],
        labels=np.array([class_names.index(names[i]) for i in order]),
        mels=mels,
        images=embedded,
        source_ids=[sources[i] for i in order],
    )


def _count(shards: list[Path]) -> int:
    """Samples in ``shards`` according to their folder's index.json."""
    import json

    index = json.loads((shards[0].parent / "index.json").read_text())
    per_shard = {e["shard"]: e["samples"] for e in index["shards"]}
    return sum(per_shard[s.name] for s in shards)


def _reorder_on_disk(mels: np.ndarray, order: np.ndarray, cache: Path) -> np.ndarray:
    if np.array_equal(order, np.arange(len(order))):
        return np.load(cache, mmap_mode="r")
    tmp = cache.with_suffix(".sorted.npy")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=mels.dtype, shape=mels.shape)
    for j, i in enumerate(order):
        out[j] = mels[i]
    out.flush()
    del out, mels
    tmp.replace(cache)
    return np.load(cache, mmap_mode="r")


def shards_of(folder: str | Path, split: str) -> list[Path]:
    return sorted(Path(folder).glob(f"{split}-*.tar"))
