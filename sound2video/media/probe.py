"""ffprobe metadata as a small typed record."""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional


class ProbeError(RuntimeError):
    """ffprobe could not read the file; the message carries ffprobe's own reason."""


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
        return bool(self.format_name) and bool({"mpegts", "mpeg", "mpegvideo"} & set(self.format_name.split(",")))

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


def require_ffmpeg() -> None:
    """Fail early with an actionable message when ffmpeg/ffprobe are not on PATH."""
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(
            f"{' and '.join(missing)} not found on PATH; install Debian's package: apt-get install -y ffmpeg "
            "(`make setup` does this for you)"
        )


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


def probe(path: str | Path, timeout: float = 60.0) -> MediaInfo:
    """Probe a media file with ffprobe. Raises ProbeError when the file cannot be read."""
    import ffmpeg

    try:
        data = ffmpeg.probe(str(path), timeout=timeout)
    except ffmpeg.Error as e:
        reason = (e.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        # ffprobe names the file by its full path: keep only the name, so a ledger reason is the same on every machine
        last = reason[-1].replace(str(path), Path(path).name) if reason else "no output"
        raise ProbeError(f"ffprobe failed on {Path(path).name}: {last}") from None
    except Exception as e:  # noqa: BLE001 - a timeout or a broken binary is a probe failure too
        raise ProbeError(f"ffprobe failed on {Path(path).name}: {e}") from None
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


def remux_continuous(src: str | Path, out: str | Path, timeout: float = 600.0) -> Path:
    """Copy the streams of ``src`` into Matroska without re-encoding. ffmpeg mends the timestamp jumps of transport
    streams as it reads (a stream whose resolution changes half-way, or two recordings joined, restarts its clock),
    and the Matroska index makes seeking keyframe-exact, so a 24 s transport stream lasts 24 s afterwards."""
    import subprocess

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(src),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-c",
        "copy",
        "-map_metadata",
        "-1",
        "-fflags",
        "+bitexact",
        "-f",
        "matroska",
        str(out),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ProbeError(f"remuxing {Path(src).name} timed out after {timeout} s") from None
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise ProbeError(f"remuxing {Path(src).name} failed: {lines[-1] if lines else 'no message'}")
    return out
