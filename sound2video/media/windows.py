"""Clip windows of a video planned from its duration (the download's ranges, before anything is downloaded, and the
cut's clips: one planner), and where each clip lies in the joined download (the download ledger's ``windows`` column,
read back by the cut stage)."""

from __future__ import annotations

import json
import math


def plan_windows(
    duration: float, clip_seconds: float, clips_per_video: int, placement: str = "spread", fps: int | None = None
) -> list[tuple[float, float]]:
    """The clip spans ``(start, end)`` of a video lasting ``duration`` seconds: at most ``clips_per_video``
    non-overlapping clips of ``clip_seconds``, spread evenly over the video or back to back from the start; empty when
    the video is shorter than one clip. The one planner of both the download's ranges and the cut's clips.

    ``fps``: starts fall on that frame grid (rounded down) so that clip boundaries are frame-exact, to the microsecond
    (the cut). None: starts to the millisecond (the download's ranges, which a margin widens anyway)."""
    count = min(clips_per_video, int(math.floor(duration / clip_seconds + 1e-6))) if duration > 0 else 0
    step = clip_seconds if placement == "consecutive" else (duration / count if count else 0.0)
    if fps is None:
        return [(round(k * step, 3), round(k * step + clip_seconds, 3)) for k in range(count)]
    starts = [math.floor(k * step * fps + 1e-6) / fps for k in range(count)]
    return [(round(s, 6), round(s + clip_seconds, 6)) for s in starts]


def fetch_windows(spans: list[tuple[float, float]], duration: float, margin: float) -> list[tuple[float, float]]:
    """The byte ranges' time windows: each span widened by ``margin`` on both sides, kept inside the video."""
    return [(round(max(0.0, s - margin), 3), round(min(duration, e + margin), 3)) for s, e in spans]


def encode_windows(spans: list[tuple[float, float]], windows: list[tuple[float, float]]) -> str:
    """The ledger's ``windows`` value: where each clip lies in the joined download (start, end) and in the source."""
    offset, out = 0.0, []
    for (s, e), (ws, we) in zip(spans, windows):
        out.append({"clip": [round(offset + s - ws, 3), round(offset + e - ws, 3)], "source": [s, e]})
        offset += we - ws
    return json.dumps(out, separators=(",", ":"))


def decode_windows(value: object) -> list[tuple[float, float]]:
    """Clip spans (start, end) in the joined download, from the ledger's ``windows`` value ([] when absent)."""
    if not isinstance(value, str) or not value:
        return []
    return [(float(w["clip"][0]), float(w["clip"][1])) for w in json.loads(value)]
