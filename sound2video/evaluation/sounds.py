"""The evaluated clips' sounds: their flac members copied out of the shards (kept between runs), read at their own
rate, and what every row shares about each (duration, onsets, the audio tower's embedding)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from sound2video.core.fsutil import atomic_path
from sound2video.evaluation.measure import Sound
from sound2video.metrics.av_align import audio_peaks


def extract_sounds(shards_dir: Path, keys: list[str], out_dir: Path) -> dict[str, Path]:
    """``<out_dir>/<key>.flac`` for each key, copied from the shards' flac members (kept between runs)."""
    import tarfile

    out_dir.mkdir(parents=True, exist_ok=True)
    want = {k for k in keys if not (out_dir / f"{k}.flac").is_file()}
    for shard in sorted(shards_dir.glob("*.tar")):
        if not want:
            break
        with tarfile.open(shard, "r:") as tf:
            for info in tf:
                key, _, ext = info.name.rsplit("/", 1)[-1].partition(".")
                if ext == "flac" and key in want:
                    with atomic_path(out_dir / f"{key}.flac", suffix=".tmp.flac") as tmp:
                        tmp.write_bytes(tf.extractfile(info).read())  # type: ignore[union-attr]
                    want.discard(key)
    if want:
        raise FileNotFoundError(f"{shards_dir}: no flac member for clips {sorted(want)[:3]}")
    return {k: out_dir / f"{k}.flac" for k in keys}


def read_sound(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples at the file's own rate (what librosa.load reads before resampling)."""
    import soundfile as sf

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return data.mean(axis=1).astype(np.float32), int(sr)


def clip_sounds(
    shards_dir: Path,
    keys: list[str],
    labels: list[str],
    out_dir: Path,
    embed_audio: Callable[[np.ndarray, int], np.ndarray],
) -> tuple[dict[str, Path], list[Sound]]:
    """(key -> flac file, one ``Sound`` per clip in ``keys`` order)."""
    files = extract_sounds(shards_dir, keys, out_dir)
    sounds = []
    for key, label in zip(keys, labels):
        wave, sr = read_sound(files[key])
        embedding = np.asarray(embed_audio(wave, sr), np.float64).ravel()
        sounds.append(Sound(key, label, len(wave) / sr, audio_peaks(wave, sr), embedding))
    return files, sounds
