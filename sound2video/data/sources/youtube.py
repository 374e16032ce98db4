"""Recognising YouTube ids and URLs."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")


def youtube_id(url_or_id: str) -> str | None:
    """The 11-character video id of a bare id or a YouTube watch/short/embed URL, else None."""
    s = str(url_or_id).strip()
    if YOUTUBE_ID.match(s):
        return s
    u = urlparse(s)
    host = (u.hostname or "").lower()
    if host.endswith("youtu.be"):
        cand = u.path.strip("/").split("/")[0]
    elif host.endswith("youtube.com") or host.endswith("youtube-nocookie.com"):
        cand = parse_qs(u.query).get("v", [""])[0]
        parts = u.path.strip("/").split("/")
        if not cand and len(parts) >= 2 and parts[0] in ("shorts", "embed", "v", "live"):
            cand = parts[1]
    else:
        return None
    return cand if YOUTUBE_ID.match(cand) else None


def watch_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"
