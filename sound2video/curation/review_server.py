"""The review page: a local web server (127.0.0.1 only, a random token in every URL) listing pending clips in rank
order, each playing with its sound, with its scores; accept / reject / skip by buttons or keys a / r / s. Every
decision is written to the decisions file at once (``decisions.record``), so a reload or a killed server resumes."""

from __future__ import annotations

import html
import json
import math
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pandas as pd

from sound2video.curation import decisions as dec
from sound2video.curation.scores import SCORE_TERMS

HOST = "127.0.0.1"

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Review: {name}</title>
<style>body{{font-family:sans-serif;margin:1em}} .clip{{display:none}} .clip.current{{display:block}}
table{{border-collapse:collapse}} td{{padding:2px 8px;border-bottom:1px solid #ddd}} button{{font-size:1.1em}}
#done{{display:none}} .row{{display:flex;gap:1.5em;align-items:flex-start}}</style></head><body>
<h1>Review <code>{name}</code> &mdash; prompt "{prompt}"</h1>
<p id="progress"></p>
{clips}
<p id="done">Nothing left to review. Decisions are in <code>{decisions}</code>.</p>
<script>
const token = {token};
let clips = Array.from(document.querySelectorAll('.clip')).filter(c => c.dataset.decided !== '1');
function show() {{
  document.querySelectorAll('.clip').forEach(c => c.classList.remove('current'));
  document.getElementById('progress').textContent = clips.length + ' clip(s) to review; keys: a accept, r reject, s skip';
  if (clips.length) {{ clips[0].classList.add('current'); }} else {{ document.getElementById('done').style.display='block'; }}
}}
async function decide(choice) {{
  if (!clips.length) return;
  const c = clips[0];
  const r = await fetch('/decide?token=' + token, {{method: 'POST', headers: {{'Content-Type': 'application/json'}},
    body: JSON.stringify({{id: c.dataset.id, decision: choice}})}});
  if (!r.ok) {{ alert('not saved: ' + await r.text()); return; }}
  c.querySelector('video').pause();
  c.dataset.decided = '1'; c.dataset.choice = choice; clips.shift(); show();
}}
document.addEventListener('keydown', e => {{
  const k = {{a: 'accept', r: 'reject', s: 'skip'}}[e.key]; if (k) {{ e.preventDefault(); decide(k); }}
}});
show();
</script></body></html>"""

CLIP = """<div class="clip" data-id="{id}" data-decided="{decided}">
<h2>#{rank} {id} &mdash; score {score} (automatic: {auto})</h2>
<div class="row"><video controls preload="metadata" width="448" src="/media/{id}.mp4?token={token}"></video>
<table>{rows}</table></div>
<p><button onclick="decide('accept')">Accept (a)</button> <button onclick="decide('reject')">Reject (r)</button>
<button onclick="decide('skip')">Skip (s)</button></p></div>"""


def _fmt(v: Any) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


class Review:
    """What the server serves: the scores ledger, the clips folder and the decisions file of one class."""

    def __init__(self, name: str, prompt: str, where: Path):
        self.name, self.prompt, self.where = name, prompt, where
        self.token = secrets.token_urlsafe(16)
        self.decisions = where / dec.DECISIONS_NAME
        scores = where / "work" / "scores.parquet"
        if not scores.is_file():
            raise FileNotFoundError(f"{scores} not found: run the curate stage (dvc repro curate) first")
        self.scores = pd.read_parquet(scores).sort_values("rank")
        self.clips_dir = where / "work" / "clips"
        self.lock = threading.Lock()

    def pending(self) -> pd.DataFrame:
        """Clips the automatic decision left to review (or that a reviewer skipped), in rank order."""
        return self.scores[self.scores["auto"] == "review"]

    def page(self) -> str:
        done = dec.read(self.decisions, self.name)
        parts = []
        # skipped clips come after the clips not yet seen, so a reload resumes where the reviewer was
        records = sorted(self.pending().to_dict("records"), key=lambda r: (done.get(r["id"]) == "skip", r["rank"]))
        for r in records:
            rows = "".join(f"<tr><td>{k}</td><td>{_fmt(r.get(k))}</td></tr>" for k in SCORE_TERMS)
            rows += f"<tr><td>quality</td><td>{html.escape(str(r['quality']))}</td></tr>"
            parts.append(
                CLIP.format(
                    id=html.escape(r["id"]),
                    decided=int(done.get(r["id"]) in ("accept", "reject")),
                    rank=r["rank"],
                    score=_fmt(r["score"]),
                    auto=r["auto"],
                    token=self.token,
                    rows=rows,
                )
            )
        return PAGE.format(
            name=html.escape(self.name),
            prompt=html.escape(self.prompt),
            clips="\n".join(parts),
            decisions=html.escape(str(self.decisions)),
            token=json.dumps(self.token),
        )

    def media(self, clip_id: str) -> Path | None:
        row = self.scores[self.scores["id"] == clip_id]
        if row.empty or not isinstance(row.iloc[0]["mp4"], str):
            return None
        path = (self.clips_dir / row.iloc[0]["mp4"]).resolve()
        return path if path.is_relative_to(self.clips_dir.resolve()) and path.is_file() else None

    def decide(self, clip_id: str, choice: str) -> None:
        if clip_id not in set(self.scores["id"]):
            raise KeyError(f"unknown clip {clip_id!r}")
        with self.lock:
            dec.record(self.decisions, self.name, clip_id, choice)


def handler_for(review: Review) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet: the terminal shows the URL, not every request
            pass

        def _send(self, code: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _authorised(self) -> bool:
            token = parse_qs(urlparse(self.path).query).get("token", [""])[0]
            if not secrets.compare_digest(token, review.token):
                self._send(403, b"forbidden: the URL's token is missing or wrong")
                return False
            return True

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if not self._authorised():
                return
            path = urlparse(self.path).path
            if path == "/":
                self._send(200, review.page().encode(), "text/html; charset=utf-8")
            elif path.startswith("/media/") and path.endswith(".mp4"):
                media = review.media(path[len("/media/") : -len(".mp4")])
                if media is None:
                    self._send(404, b"no such clip")
                else:
                    self._send(200, media.read_bytes(), "video/mp4")
            else:
                self._send(404, b"not found")

        def do_POST(self) -> None:  # noqa: N802
            if not self._authorised():
                return
            if urlparse(self.path).path != "/decide":
                self._send(404, b"not found")
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0") or 0)))
                review.decide(str(body["id"]), str(body["decision"]))
            except (ValueError, KeyError, TypeError) as e:
                self._send(400, f"bad decision: {e}".encode())
                return
            self._send(200, b"saved")

    return Handler


def make_server(review: Review, port: int = 0) -> ThreadingHTTPServer:
    """A server bound to 127.0.0.1 (``port`` 0: any free port); the caller runs ``serve_forever`` and shuts it down."""
    return ThreadingHTTPServer((HOST, port), handler_for(review))


def url_of(server: ThreadingHTTPServer, review: Review) -> str:
    return f"http://{HOST}:{server.server_address[1]}/?token={review.token}"
