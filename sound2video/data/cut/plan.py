"""Which clips to cut from a source video, or why none can be cut."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sound2video.data.cut.params import CutParams
from sound2video.media.probe import MediaInfo
from sound2video.media.windows import plan_windows


@dataclass(frozen=True)
class ClipSpan:
    index: int
    start: float
    end: float


class Unclippable(Exception):
    """The whole source is rejected; ``reason`` is a short code, ``detail`` the explanation."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def usable_duration(info: MediaInfo, audio_pad_max: float = 0.0) -> float:
    """The shortest of container, video and audio durations; audio may end up to ``audio_pad_max`` seconds early
    (AAC in mp4 commonly loses its last frame or two; the clip's audio is padded with silence to its exact length)."""
    audio = info.audio_duration + audio_pad_max if info.audio_duration else None
    known = [d for d in (info.duration, info.video_duration, audio) if d and d > 0]
    return min(known) if known else 0.0


def upscale_factor(info: MediaInfo, params: CutParams) -> float:
    w, h = info.display_size or (0, 0)
    if not w or not h:
        return math.inf
    return max(params.width / w, params.height / h)


def plan_clips(info: MediaInfo, params: CutParams, windows: list[tuple[float, float]] | None = None) -> list[ClipSpan]:
    """Non-overlapping spans of ``clip_seconds``, at most ``clips_per_video``, placed by ``media.windows.plan_windows``
    on the output frame grid; raises Unclippable with a reason.

    ``windows`` (a download of only the planned clip windows, joined): one clip from each window's planned span,
    as many as the file's duration holds."""
    _check_source(info, params)
    total = usable_duration(info, params.audio_pad_max_seconds)
    if windows:
        spans = []
        for k, (s, _) in enumerate(windows[: params.clips_per_video]):
            start = math.ceil(s * params.fps - 1e-6) / params.fps
            if start + params.clip_seconds > total + 1e-6:
                break
            spans.append(ClipSpan(k, round(start, 6), round(start + params.clip_seconds, 6)))
        if not spans:
            raise Unclippable("too_short", f"the downloaded windows last {total:.2f} s, too short for their clips")
        return spans
    planned = plan_windows(total, params.clip_seconds, params.clips_per_video, params.placement, fps=params.fps)
    if not planned:
        raise Unclippable("too_short", f"source lasts {total:.2f} s, shorter than one {params.clip_seconds:g} s clip")
    return [ClipSpan(k, start, end) for k, (start, end) in enumerate(planned)]


def _check_source(info: MediaInfo, params: CutParams) -> None:
    if not info.has_video:
        raise Unclippable("no_video_stream", "the source has no video stream")
    if not info.has_audio:
        raise Unclippable("no_audio_stream", "the source has no audio stream")
    factor = upscale_factor(info, params)
    if factor > 1 + 1e-9 and not params.allow_upscale:
        w, h = info.display_size or (0, 0)
        raise Unclippable(
            "needs_upscale",
            f"source {w}x{h} would need {factor:.2f}x upscaling to cover {params.width}x{params.height} "
            "(set cut.allow_upscale to accept)",
        )
