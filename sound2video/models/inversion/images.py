"""Images to invert: real ones (a folder, or tar shards by path, glob or URL), synthetic landscape-like pictures,
and samples of the generator itself with their latents. All become uint8 ``[N, R, R, 3]`` at the generator's
resolution (centre square crop, Lanczos resize, as the paper prepares LHQ)."""

from __future__ import annotations

import glob
import io
import logging
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sound2video.core.remote import is_url, resolve
from sound2video.metrics.image import to_uint8
from sound2video.models.inversion.configuration_inversion import ImageSourceParams

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


@dataclass
class ImageSet:
    images: np.ndarray  # uint8 [N, R, R, 3]
    sources: list[str]  # "real" | "synthetic" | "generated", per image
    keys: list[str]
    latents: np.ndarray | None = None  # float32 [N, num_ws, w_dim]; NaN rows for images without one
    rejected: list[dict[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)

    def subset(self, idx: np.ndarray) -> ImageSet:
        idx = np.asarray(idx, dtype=np.int64)
        return ImageSet(
            self.images[idx],
            [self.sources[i] for i in idx],
            [self.keys[i] for i in idx],
            None if self.latents is None else self.latents[idx],
            self.rejected,
        )


def prepare_image(data: bytes | Path, resolution: int) -> np.ndarray:
    """Decode, convert to RGB, crop the centre square, resize with Lanczos -> uint8 [R, R, 3]."""
    from PIL import Image

    with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as img:
        img = img.convert("RGB")
        w, h = img.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
        if side != resolution:
            img = img.resize((resolution, resolution), Image.LANCZOS)
        return np.asarray(img, dtype=np.uint8)


def _list_folder(folder: Path) -> list[tuple[str, Any]]:
    return [
        (str(p.relative_to(folder)), p)
        for p in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    ]


def _tar_paths(spec: str, sha256: str | None) -> list[Path]:
    if is_url(spec):
        return [resolve(spec, sha256)]
    paths = sorted(Path(p) for p in glob.glob(str(Path(spec).expanduser())))
    if not paths:
        raise FileNotFoundError(f"train_inversion.images.path: no tar matches {spec!r}")
    return paths


def _iter_tar_images(paths: list[Path]) -> Iterator[tuple[str, bytes]]:
    for tar_path in paths:
        with tarfile.open(tar_path) as tar:  # members are read into memory, never extracted to disk
            members = sorted(
                (m for m in tar.getmembers() if m.isfile() and Path(m.name).suffix.lower() in IMAGE_SUFFIXES),
                key=lambda m: m.name,
            )
            for member in members:
                f = tar.extractfile(member)
                if f is not None:
                    yield f"{tar_path.name}/{member.name}", f.read()


def _count_tar_images(paths: list[Path]) -> int:
    n = 0
    for tar_path in paths:
        with tarfile.open(tar_path) as tar:
            n += sum(1 for m in tar.getmembers() if m.isfile() and Path(m.name).suffix.lower() in IMAGE_SUFFIXES)
    return n


def load_real(params: ImageSourceParams, resolution: int, cache: Path | None = None) -> ImageSet:
    """Real images from a folder or tar shards, written into a uint8 memory map (``cache``, else RAM) so that
    LHQ-sized sets need not fit in memory; undecodable images are recorded in ``rejected`` and skipped."""
    from sound2video.core.log import progress

    if params.kind == "folder":
        if is_url(params.path or ""):
            raise ValueError("train_inversion.images.path: a folder cannot be a URL; use kind 'tar' for a URL")
        folder = Path(params.path or "").expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(f"train_inversion.images.path: {folder} is not a folder")
        listed = _list_folder(folder)
        total = len(listed)
        items: Iterator[tuple[str, Any]] = iter(listed)
    else:
        paths = _tar_paths(params.path or "", params.sha256)
        total = _count_tar_images(paths)
        items = _iter_tar_images(paths)
    total = min(total, params.limit or total)
    if total == 0:
        raise ValueError(f"train_inversion.images.path: no images ({', '.join(IMAGE_SUFFIXES)}) in {params.path!r}")
    shape = (total, resolution, resolution, 3)
    images = (
        np.lib.format.open_memmap(cache, mode="w+", dtype=np.uint8, shape=shape)
        if cache is not None
        else np.zeros(shape, np.uint8)
    )
    keys: list[str] = []
    rejected: list[dict[str, str]] = []
    with progress(desc="images", unit="img", total=total) as bar:
        for key, data in items:
            if len(keys) >= total:
                break
            try:
                images[len(keys)] = prepare_image(data, resolution)
                keys.append(key)
            except Exception as e:  # noqa: BLE001 - any decoder failure is one rejected image
                rejected.append({"key": key, "reason": f"{type(e).__name__}: {e}"[:200]})
            bar.update()
    if rejected:
        log.warning("invert_lhq: %d image(s) could not be read, e.g. %s", len(rejected), rejected[0])
    if not keys:
        raise ValueError(f"train_inversion.images.path: no readable images in {params.path!r}")
    return ImageSet(images[: len(keys)], ["real"] * len(keys), keys, rejected=rejected)


def synthetic_pictures(n: int, resolution: int, seed: int) -> ImageSet:
    """Landscape-like pictures from the synthetic renderer, cycling through the nine Landscape classes."""
    from sound2video.data.sources.synthetic_classes import LANDSCAPE_CLASSES
    from sound2video.data.sources.synthetic_picture import PICTURES

    images, keys = [], []
    for i in range(n):
        name = LANDSCAPE_CLASSES[i % len(LANDSCAPE_CLASSES)]
        rng = np.random.default_rng([seed, i])
        frame = PICTURES[name](rng, resolution, resolution, 15)(int(rng.integers(0, 150)))
        images.append(np.clip(np.rint(frame * 255), 0, 255).astype(np.uint8))
        keys.append(f"synthetic/{name}/{i:05d}")
    return ImageSet(np.stack(images), ["synthetic"] * n, keys)


def generated_images(G: Any, n: int, psi: float, seed: int, batch: int = 16) -> ImageSet:
    """Samples of ``G`` from seeded z (truncation ``psi``), with their W+ latents."""
    import torch

    z = torch.from_numpy(np.random.RandomState(seed).randn(n, G.z_dim).astype(np.float32))
    images, latents = [], []
    with torch.inference_mode():
        for i in range(0, n, batch):
            ws = G.mapping(z[i : i + batch], truncation_psi=psi)
            images.append(to_uint8(G.synthesis(ws)))
            latents.append(ws.cpu().numpy())
    return ImageSet(
        np.concatenate(images),
        ["generated"] * n,
        [f"generated/{i:05d}" for i in range(n)],
        np.concatenate(latents).astype(np.float32),
    )


def concat(parts: list[ImageSet], latent_shape: tuple[int, int]) -> ImageSet:
    """One set (a single part is returned as is, so a memory map stays one)."""
    if len(parts) == 1:
        return parts[0]
    latents = [
        p.latents if p.latents is not None else np.full((len(p), *latent_shape), np.nan, np.float32) for p in parts
    ]
    return ImageSet(
        np.concatenate([p.images for p in parts]),
        sum((p.sources for p in parts), []),
        sum((p.keys for p in parts), []),
        np.concatenate(latents),
        sum((p.rejected for p in parts), []),
    )


def split(images: ImageSet, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) indices: per source, a seeded shuffle; at least one held-out image per source."""
    train, val = [], []
    for source in sorted(set(images.sources)):
        idx = np.array([i for i, s in enumerate(images.sources) if s == source])
        idx = idx[np.random.default_rng([seed, len(source)]).permutation(len(idx))]
        n_val = max(1, int(round(len(idx) * val_fraction))) if len(idx) > 1 else 0
        val.extend(sorted(idx[:n_val]))
        train.extend(sorted(idx[n_val:]))
    return np.array(train, dtype=np.int64), np.array(val, dtype=np.int64)


def collect(params: ImageSourceParams, G: Any, cache: Path | None = None) -> ImageSet:
    """Every image the params ask for (real or synthetic, plus generated). Real images go through a memory map at
    ``cache`` (when given)."""
    res = G.img_resolution
    parts = []
    if params.kind in ("folder", "tar"):
        parts.append(load_real(params, res, cache))
    elif params.synthetic_images:
        parts.append(synthetic_pictures(params.synthetic_images, res, params.seed))
    if params.generated_images:
        parts.append(generated_images(G, params.generated_images, params.generated_psi, params.seed))
    return concat(parts, (G.num_ws, G.w_dim))
