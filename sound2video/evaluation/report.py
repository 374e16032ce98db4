"""``reports/evaluate/index.html``: the table of rows on top, then one card per test sound with every row's video
(playing with its sound) side by side, the class and the per-clip scores; and those videos (``write_row_mp4s``).

Self-contained: one HTML file with inline CSS and script, videos by relative path, nothing fetched from the network.
Light with dozens of videos: each ``<video>`` starts with ``preload="none"`` and a small script asks for its
metadata (first frame) only when the card scrolls near the viewport.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from sound2video.core.fsutil import write_text_atomic

if TYPE_CHECKING:
    import numpy as np

TABLE_COLUMNS = [
    ("fvd", "FVD ↓"),
    ("is_mean", "IS ↑"),
    ("clip_t2v", "CLIP text-video ↑"),
    ("clip_a2v", "CLIP audio-video ↑"),
    ("av_align", "AV-Align ↑"),
    ("motion", "motion (px/frame)"),
]
CLIP_COLUMNS = [("clip_t2v", "t2v"), ("clip_a2v", "a2v"), ("av_align", "AV-Align"), ("motion", "motion")]


@dataclass
class ReportRow:
    name: str
    title: str
    summary: Optional[dict[str, Any]]  # None: skipped
    note: str = ""


@dataclass
class ReportCard:
    key: str
    label: str
    seconds: float
    videos: dict[str, str]  # row -> video path relative to the report
    scores: dict[str, dict[str, Any]]  # row -> that clip's scores


def _fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.4g}"
    return html.escape(str(x))


def _table(rows: list[ReportRow]) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in TABLE_COLUMNS)
    body = []
    for r in rows:
        if r.summary is None:
            body.append(
                f'<tr class="skipped"><td>{html.escape(r.title)}</td>'
                f'<td colspan="{len(TABLE_COLUMNS)}">skipped: {html.escape(r.note)}</td></tr>'
            )
            continue
        cells = []
        for key, _ in TABLE_COLUMNS:
            value = r.summary.get(key)
            if key == "is_mean" and value is not None:
                cells.append(f"<td>{_fmt(value)} ± {_fmt(r.summary.get('is_std'))}</td>")
            else:
                cells.append(f"<td>{_fmt(value)}</td>")
        body.append(f'<tr data-row="{html.escape(r.name)}"><td>{html.escape(r.title)}</td>{"".join(cells)}</tr>')
    return f'<table id="rows"><thead><tr><th>row</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _card(card: ReportCard, rows: list[ReportRow], width: int) -> str:
    cells = []
    for r in rows:
        src = card.videos.get(r.name)
        if src is None:
            continue
        scores = card.scores.get(r.name, {})
        score_text = " · ".join(f"{label} {_fmt(scores.get(key))}" for key, label in CLIP_COLUMNS if key in scores)
        cells.append(
            f'<figure><video controls preload="none" width="{width}" height="{width}" '
            f'data-seconds="{card.seconds:.3f}" src="{html.escape(src)}"></video>'
            f"<figcaption><b>{html.escape(r.title)}</b><br><small>{score_text}</small></figcaption></figure>"
        )
    return (
        f'<section class="card" id="{html.escape(card.key)}"><h3>{html.escape(card.label)} '
        f"<small>{html.escape(card.key)} · {card.seconds:.2f} s</small></h3>"
        f'<div class="videos">{"".join(cells)}</div></section>'
    )


STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}tr.skipped td{color:#888;font-style:italic}
.note{background:#fff3cd;border:1px solid #e0c36a;padding:.5em 1em}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;margin:1em 0;padding:.5em 1em}
.videos{display:flex;flex-wrap:wrap;gap:.8em}figure{margin:0;max-width:16em}
video{background:#000;image-rendering:pixelated}figcaption{font-size:.8em}
"""

# Lazy loading: ask for metadata (duration, first frame) only when a video comes near the viewport.
SCRIPT = """
const io = new IntersectionObserver((entries) => {
  for (const e of entries) {
    if (e.isIntersecting) { e.target.preload = "metadata"; io.unobserve(e.target); }
  }
}, {rootMargin: "400px"});
document.querySelectorAll("video").forEach((v) => io.observe(v));
"""


def write_report(
    out: Path,
    title: str,
    rows: list[ReportRow],
    cards: list[ReportCard],
    notes: list[str],
    protocol_name: str = "protocol.json",
    width: int = 192,
) -> Path:
    """Write ``out`` (index.html) atomically; video paths in ``cards`` are relative to its folder."""
    notes_html = "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    doc = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head><body>'
        f"<h1>{html.escape(title)}</h1>{notes_html}{_table(rows)}"
        f"<p>The measurement protocol (data, N, frames, resolution, detectors) is in "
        f'<a href="{html.escape(protocol_name)}">{html.escape(protocol_name)}</a>.</p>'
        f"<h2>Test sounds ({len(cards)})</h2>{''.join(_card(c, rows, width) for c in cards)}"
        f"<script>{SCRIPT}</script></body></html>\n"
    )
    write_text_atomic(out, doc)
    return out


def write_row_mp4s(
    videos: np.ndarray, keys: list[str], sounds: dict[str, Path], fps: float, out_dir: Path, workers: int = 2
) -> dict[str, Path]:
    """One H.264 + AAC mp4 per clip (the clip's sound muxed), at the generation resolution; ``workers`` encoders
    at a time (each is its own ffmpeg process with fixed settings, so the bytes do not depend on it)."""
    from concurrent.futures import ThreadPoolExecutor

    from sound2video.models.video.writer import VideoWriter

    out_dir.mkdir(parents=True, exist_ok=True)

    def write(k: int) -> Path:
        frames, key = videos[k], keys[k]
        path = out_dir / f"{key}.mp4"
        with VideoWriter(path, fps, frames.shape[2], frames.shape[1], audio_path=sounds[key]) as writer:
            writer.write(frames)
        return path

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        paths = dict(zip(keys, pool.map(write, range(len(keys)))))
    return paths
