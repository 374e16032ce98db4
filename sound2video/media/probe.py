"""ffprobe metadata as a small typed record."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

from sound2video.media.argv import probe_command, remux_command
from sound2video.media.runner import MediaError, failure, run_tool


class ProbeError(MediaError):
    """ffprobe could not read the file (or ffmpeg could not remux it); the message names the file and gives the
    tool's own reason."""


@dataclass
class MediaInfo:
    width: Optional[int]
    height: Optional[int]
    fps: Optional[float]
    duration: Optional[float]
    video_duration: Optional[float]
    audio_duration: Optional[float]
    vcodec: Optional[str]
    acodec: Optional[str]
    sample_rate: Optional[int]
    channels: Optional[int]
    nb_frames: Optional[int]
    rotation: int
    format_name: Optional[str] = None  # ffprobe's demuxer names, e.g. "mpegts" or "mov,mp4,m4a,3gp,3g2,mj2"

    @property
    def discontinuous_timestamps(self) -> bool:
        """Containers whose timestamps may jump or restart (MPEG transport and program streams): their reported
        duration can be a fraction of the content and seeking in them is by byte position, not by keyframe."""
        return bool({"mpegts", "mpeg", "mpegvideo"} & set((self.format_name or "").split(",")))

    @property
    def has_video(self) -> bool:
        return self.vcodec is not None

    @property
    def has_audio(self) -> bool:
        return self.acodec is not None

    @property
    def display_size(self) -> tuple[int, int] | None:
        """(width, height) as displayed, after any 90/270 degree rotation the container asks for."""
        if self.width is None or self.height is None:
            return None
        if self.rotation % 180:
            return self.height, self.width
        return self.width, self.height

    def as_ledger_fields(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("rotation")
        d.pop("video_duration")
        d.pop("audio_duration")
        d.pop("nb_frames")
        d.pop("format_name")
        if self.display_size:
            d["width"], d["height"] = self.display_size
        return d


def _rate(value: str | None) -> Optional[float]:
    if not value or value in ("0/0", "0"):
        return None
    try:
        return float(Fraction(value))
    except (ValueError, ZeroDivisionError):
        return None


def _float(value: Any) -> Optional[float]:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _rotation(stream: dict[str, Any]) -> int:
    rot = stream.get("tags", {}).get("rotate")
    for side in stream.get("side_data_list", []) or []:
        if "rotation" in side:
            rot = side["rotation"]
    try:
        return int(float(rot)) % 360 if rot is not None else 0
    except ValueError:
        return 0


def probe(path: str | Path, timeout: float = 60.0, name: str | None = None) -> MediaInfo:
    """Probe a media file with ffprobe. Raises ProbeError naming the file as ``name`` (default: its file name, so a
    ledger reason is the same on every machine; pass the user's path or URL when ``path`` is a working copy)."""
    name = name or Path(path).name
    out = run_tool(
        probe_command(path, timeout), name, timeout=timeout, error=ProbeError, aliases={str(path): name}, tail_lines=1
    )
    try:
        data = json.loads(out.decode("utf-8"))
    except ValueError as e:
        raise failure(ProbeError, "ffprobe", name, f"unreadable JSON ({e})") from None
    streams = data.get("streams", [])
    video = next(
        (s for s in streams if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")),
        None,
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    fmt = data.get("format", {})
    nb = video.get("nb_frames") if video else None
    return MediaInfo(
        width=int(video["width"]) if video and "width" in video else None,
        height=int(video["height"]) if video and "height" in video else None,
        fps=(_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))) if video else None,
        duration=_float(fmt.get("duration")),
        video_duration=_float(video.get("duration")) if video else None,
        audio_duration=_float(audio.get("duration")) if audio else None,
        vcodec=video.get("codec_name") if video else None,
        acodec=audio.get("codec_name") if audio else None,
        sample_rate=int(audio["sample_rate"]) if audio and audio.get("sample_rate") else None,
        channels=int(audio["channels"]) if audio and audio.get("channels") else None,
        nb_frames=int(nb) if nb and str(nb).isdigit() else None,
        rotation=_rotation(video) if video else 0,
        format_name=fmt.get("format_name"),
    )


def remux_continuous(src: str | Path, out: str | Path, timeout: float = 600.0, name: str | None = None) -> Path:
    """Copy the streams of ``src`` into Matroska without re-encoding. ffmpeg mends the timestamp jumps of transport
    streams as it reads (a stream whose resolution changes half-way, or two recordings joined, restarts its clock),
    and the Matroska index makes seeking keyframe-exact, so a 24 s transport stream lasts 24 s afterwards.
    Raises ProbeError naming ``src`` as ``name`` (default: its file name)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    name = name or Path(src).name
    run_tool(remux_command(src, out), name, timeout=timeout, error=ProbeError, aliases={str(src): name}, tail_lines=1)
    return out
