"""yt-dlp through its Python API: options from params, the fetch of one manifest item, and failures sorted into
statuses."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the download stage's params (annotations only: sources sit below download)
    from sound2video.data.download.params import DownloadParams

from sound2video.media.argv import concat_command
from sound2video.media.probe import ProbeError, probe
from sound2video.media.runner import run_tool
from sound2video.media.windows import encode_windows, fetch_windows, plan_windows

log = logging.getLogger(__name__)


WINDOWS_NAME = "windows.json"  # beside a fetched file: where its clips lie (the ledger's ``windows`` column)


class SourceRejected(Exception):
    """The item's metadata breaks a guard (max duration, max size) or leaves no clip: a 'rejected' row, no retry."""


_TRANSIENT_PATTERNS = re.compile(
    r"HTTP Error (429|403|5\d\d)|not a bot|try again later|timed out|timeout|temporarily|Connection (reset|refused"
    r"|aborted)|Remote end closed|IncompleteRead|rate.?limit|Read timed out|Network is unreachable",
    re.IGNORECASE,
)
_UNAVAILABLE_PATTERNS = re.compile(
    r"HTTP Error (404|410|401)|Video unavailable|Private video|removed|terminated|not available in your country"
    r"|blocked it|Sign in to confirm your age|does not exist|Unsupported URL|no longer available|copyright",
    re.IGNORECASE,
)
_FORMAT_PATTERN = re.compile(r"Requested format is not available", re.IGNORECASE)


def parse_rate(rate: str | None) -> int | None:
    if not rate:
        return None
    scale = {"K": 1024, "M": 1024**2, "G": 1024**3}
    unit = rate[-1].upper()
    return int(float(rate[:-1]) * scale[unit]) if unit in scale else int(float(rate))


class _QuietLogger:
    """Collects yt-dlp's messages instead of printing them; errors are kept for the ledger."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        self.errors.append(msg)


def build_options(
    params: DownloadParams,
    workdir: Path,
    start: float | None,
    end: float | None,
    logger: Any,
    windows: list[tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """YoutubeDL options; the API's own defaults are 0 retries and no sleeps, so everything is explicit."""
    opts: dict[str, Any] = {
        "format": params.format,
        "format_sort": list(params.format_sort),
        "merge_output_format": "mp4",
        "paths": {"home": str(workdir), "temp": str(workdir)},
        "outtmpl": {"default": "media.%(ext)s"},
        "retries": params.retries,
        "fragment_retries": params.fragment_retries,
        "extractor_retries": params.extractor_retries,
        "socket_timeout": params.socket_timeout,
        "sleep_interval_requests": params.sleep_requests,
        "sleep_interval": params.sleep_interval,
        "max_sleep_interval": params.max_sleep_interval or None,
        "ratelimit": parse_rate(params.rate_limit),
        "noplaylist": True,
        "noprogress": True,
        "quiet": True,
        "no_warnings": True,
        "logger": logger,
        "overwrites": True,
        "ignoreerrors": False,
        "cachedir": False,
        "max_filesize": params.max_bytes,
    }
    if start is not None and end is not None:
        windows = [(float(start), float(end))]
    if windows:
        from yt_dlp.utils import download_range_func

        opts["download_ranges"] = download_range_func(None, windows)
        opts["force_keyframes_at_cuts"] = True
        if len(windows) > 1:  # one file per window, joined afterwards
            opts["outtmpl"] = {"default": "media.%(section_start)012.3f.%(ext)s"}
    return {k: v for k, v in opts.items() if v is not None}


def classify_error(exc: BaseException) -> tuple[str, str]:
    """Return (status, reason) for a failed download: 'unavailable', 'transient' or 'rejected'."""
    cause = exc
    exc_info = getattr(exc, "exc_info", None)
    if exc_info and exc_info[1] is not None:
        cause = exc_info[1]
    if isinstance(exc, SourceRejected):
        return "rejected", _short(str(exc))
    status_code = getattr(cause, "status", None) or getattr(getattr(cause, "response", None), "status", None)
    text = f"{exc} {cause}"
    reason = _short(str(exc) or repr(cause))
    if isinstance(status_code, int):
        if status_code in (401, 404, 410):
            return "unavailable", reason
        if status_code in (403, 429) or status_code >= 500:
            return "transient", reason
    if _FORMAT_PATTERN.search(text):
        return "rejected", "no format matches the format selection (below the minimum resolution?): " + reason
    if _TRANSIENT_PATTERNS.search(text):
        return "transient", reason
    if _UNAVAILABLE_PATTERNS.search(text) or getattr(cause, "expected", False):
        return "unavailable", reason
    return "transient", reason


def _short(text: str, limit: int = 300) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\n", " ").strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def download(
    url: str,
    params: DownloadParams,
    workdir: Path,
    start: float | None = None,
    end: float | None = None,
    windows: list[tuple[float, float]] | None = None,
) -> Path:
    """Download ``url`` (or only its ``windows``, joined in order) into ``workdir`` and return the finished media
    file. Raises on failure."""
    import yt_dlp

    logger = _QuietLogger()
    with yt_dlp.YoutubeDL(build_options(params, workdir, start, end, logger, windows)) as ydl:
        ydl.download([url])
    done = sorted(
        p
        for p in workdir.iterdir()
        if p.is_file() and p.name.startswith("media.") and not p.name.endswith((".part", ".ytdl", ".temp"))
    )
    merged = [p for p in done if p.suffix == ".mp4"]
    if not (merged or done):
        raise RuntimeError(
            "yt-dlp finished without an output file" + (f": {logger.errors[-1]}" if logger.errors else "")
        )
    if windows and len(windows) > 1:
        return _join(merged or done, workdir / "joined.mp4", url)
    return (merged or done)[0]


def _join(parts: list[Path], out: Path, url: str) -> Path:
    """Join the window files in time order without re-encoding (each starts on a forced keyframe); a failure names
    ``url``, the item the windows came from."""
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{p.name}'\n" for p in sorted(parts)), encoding="utf-8")
    source = f"{url} ({len(parts)} downloaded windows joined)"
    run_tool(concat_command(listing, out), source, aliases={f"{out.parent}/": "", str(out.parent): "."})
    return out


def metadata(url: str, params: DownloadParams) -> dict[str, Any]:
    """Duration (seconds) and size (bytes, when known) from the metadata alone: yt-dlp's info, else ffprobe on the
    media URL (which reads the header, not the file)."""
    import yt_dlp

    opts = build_options(params, Path("."), None, None, _QuietLogger())
    opts.pop("paths", None)
    with yt_dlp.YoutubeDL(opts) as ydl:
        info = ydl.extract_info(url, download=False)
    duration = info.get("duration")
    size = info.get("filesize") or info.get("filesize_approx")
    if not duration:
        media_url = info.get("url") or url
        try:
            duration = probe(media_url).duration
        except ProbeError:
            duration = None
    return {"duration": float(duration) if duration else None, "bytes": int(size) if size else None}


def fetch_planned(item: Mapping[str, Any], params: DownloadParams, workdir: Path) -> tuple[Path, str]:
    """Fetch only the clip windows of a whole video (``download.ranges``); returns the joined file and the ledger's
    ``windows`` value. Raises SourceRejected when a guard or the duration rules the item out."""
    plan = params.ranges
    assert plan is not None
    meta = metadata(item["url"], params)
    duration = meta["duration"]
    if duration is None:
        raise SourceRejected("the metadata gives no duration, so no clip windows can be planned")
    _guard(meta, params)
    spans = plan_windows(duration, plan.clip_seconds, plan.clips_per_video, plan.placement)
    if not spans:
        raise SourceRejected(f"too_short: {duration:.2f} s is shorter than one {plan.clip_seconds:g} s clip")
    windows = fetch_windows(spans, duration, plan.margin_seconds)
    media = download(item["url"], params, workdir, windows=windows)
    return media, encode_windows(spans, windows)


def _guard(meta: dict[str, Any], params: DownloadParams) -> None:
    if params.max_duration_seconds and meta["duration"] and meta["duration"] > params.max_duration_seconds:
        raise SourceRejected(
            f"duration {meta['duration']:.0f} s is over max_duration_seconds {params.max_duration_seconds:g}"
        )
    if params.max_bytes and meta["bytes"] and meta["bytes"] > params.max_bytes:
        raise SourceRejected(f"size {meta['bytes']} bytes is over max_bytes {params.max_bytes}")


def fetch(item: Mapping[str, Any], params: DownloadParams, workdir: Path) -> Path:
    """Fetch one manifest item (a YouTube or http(s) URL) into ``workdir``: only its [start, end] segment when
    ``source.use_ranges`` is set and the item has a start, else the whole video."""
    start, end = item.get("start"), item.get("end")
    # NaN (no time in the manifest) compares unequal to itself
    use_ranges = params.source.use_ranges and start == start and end == end and start is not None
    if use_ranges:
        return download(item["url"], params, workdir, start, end + params.source.range_margin_seconds)
    if params.ranges is not None:
        media, windows = fetch_planned(item, params, workdir)
        (workdir / WINDOWS_NAME).write_text(windows, encoding="utf-8")
        return media
    if params.max_duration_seconds or params.max_bytes:
        _guard(metadata(item["url"], params), params)
    return download(item["url"], params, workdir)
