"""Streaming videos for metrics: from a folder of mp4 files or from WebDataset shards, one sample at a time."""

from __future__ import annotations

import glob
import json
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sound2video.media.argv import decode_mono_command, decode_ppm_command
from sound2video.media.runner import MediaError, ToolMissing, ToolProcess, run_tool

VIDEO_EXTS = (".mp4", ".mkv", ".webm", ".mov", ".avi")


@dataclass
class VideoItem:
    """One video: a file on disk or bytes from a shard, plus the shard's json and audio when there are any."""

    name: str
    path: Path | None = None
    data: bytes | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    audio: bytes | None = None  # flac bytes from a shard


def list_sources(spec: str | Path) -> tuple[str, list[Path]]:
    """Resolve ``spec`` to ('shards', tars) or ('files', videos): a .tar, a glob, or a folder of either."""
    p = Path(spec)
    if p.is_dir():
        tars = sorted(p.glob("*.tar"))
        if tars:
            return "shards", tars
        vids = sorted(f for f in p.rglob("*") if f.suffix.lower() in VIDEO_EXTS)
        if vids:
            return "files", vids
        raise FileNotFoundError(f"{spec}: no .tar shards or video files inside")
    if p.is_file():
        return ("shards", [p]) if p.suffix == ".tar" else ("files", [p])
    matches = sorted(Path(m) for m in glob.glob(str(spec)))
    if matches and all(m.suffix == ".tar" for m in matches):
        return "shards", matches
    if matches and all(m.suffix.lower() in VIDEO_EXTS for m in matches):
        return "files", matches
    raise FileNotFoundError(f"{spec}: not a video file, a .tar shard, a folder or a glob matching either")


def iter_videos(spec: str | Path) -> Iterator[VideoItem]:
    """Videos in a stable order (sorted files; shard order, then member order)."""
    kind, paths = list_sources(spec)
    if kind == "files":
        for f in paths:
            yield VideoItem(name=f.stem, path=f)
        return
    for tar in paths:
        for key, members in _iter_tar_samples(tar):
            mp4 = next((members[e] for e in ("mp4", "mkv", "webm", "avi", "mov") if e in members), None)
            if mp4 is None:
                continue
            meta = json.loads(members["json"]) if "json" in members else {}
            yield VideoItem(name=key, data=mp4, meta=meta, audio=members.get("flac"))


def _iter_tar_samples(tar_path: Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """(key, {extension: bytes}) for consecutive members sharing a key, streaming through the tar."""
    current, members = None, {}
    with tarfile.open(tar_path, mode="r|*") as tar:
        for m in tar:
            if not m.isfile():
                continue
            name = m.name.rsplit("/", 1)[-1]
            key, _, ext = name.partition(".")
            if key != current and current is not None:
                yield current, members
                members = {}
            current = key
            members[ext] = tar.extractfile(m).read()  # type: ignore[union-attr]
    if current is not None:
        yield current, members


def decode_frames(item: VideoItem, num_frames: int, stride: int = 1) -> np.ndarray | None:
    """The first ``num_frames`` frames taken every ``stride`` frames, as uint8 (T, H, W, 3) RGB; None if too short."""
    if item.path is not None:
        return _decode_file(item.path, num_frames, stride)
    with tempfile.NamedTemporaryFile(suffix=".mp4", dir=_tmp_dir()) as tmp:
        tmp.write(item.data or b"")
        tmp.flush()
        return _decode_file(Path(tmp.name), num_frames, stride)


def _tmp_dir() -> str | None:
    return "/dev/shm" if Path("/dev/shm").is_dir() else None


def _decode_file(path: Path, num_frames: int, stride: int) -> np.ndarray | None:
    """Decode to PPM frames on a pipe: the first frame's header gives the (display) size, so no ffprobe call is
    needed, and the frames land in one preallocated buffer. None when the video ends early or does not decode."""
    with ToolProcess(decode_ppm_command(path, num_frames, stride), path, stdout=True) as proc:
        header = _read_ppm_header(proc.stdout)
        if header is None:
            return None
        w, h, head = header
        frame = w * h * 3
        buf = bytearray(len(head) + num_frames * (len(head) + frame) - len(head))
        buf[: len(head)] = head
        view, filled = memoryview(buf), len(head)
        while filled < len(buf):
            got = proc.stdout.readinto(view[filled:])  # type: ignore[attr-defined]
            if not got:
                return None  # the video ended before num_frames frames
            filled += got
    rows = np.frombuffer(buf, np.uint8).reshape(num_frames, len(head) + frame)
    return rows[:, len(head) :].reshape(num_frames, h, w, 3)


def _read_ppm_header(stream) -> tuple[int, int, bytes] | None:
    """Read 'P6 <w> <h> 255' plus the single whitespace byte after it; None at end of stream."""
    head = bytearray()
    fields: list[bytes] = []
    token = bytearray()
    while len(fields) < 4:
        c = stream.read(1)
        if not c:
            return None
        head += c
        if c.isspace():
            if token:
                fields.append(bytes(token))
                token.clear()
        else:
            token += c
    if fields[0] != b"P6" or fields[3] != b"255":
        raise ValueError(f"unexpected frame header from ffmpeg: {bytes(head)!r}")
    return int(fields[1]), int(fields[2]), bytes(head)


def decode_audio(item: VideoItem, sample_rate: int) -> np.ndarray | None:
    """Mono float32 audio at ``sample_rate``: the shard's flac if present, else the video's own audio track; None
    when there is none or it does not decode."""
    with tempfile.NamedTemporaryFile(suffix=".bin", dir=_tmp_dir()) as tmp:
        if item.audio is not None or item.data is not None:
            tmp.write(item.audio if item.audio is not None else item.data)  # type: ignore[arg-type]
            tmp.flush()
            src = tmp.name
        else:
            src = str(item.path)
        try:
            out = run_tool(decode_mono_command(src, sample_rate), item.name, aliases={src: item.name})
        except ToolMissing:
            raise
        except MediaError:
            return None
    if not out:
        return None
    return np.frombuffer(out, np.float32).copy()
