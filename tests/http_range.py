"""A loopback HTTP server that honours byte-range requests (as real video hosts do) and counts the bytes it sends;
Python's own server ignores Range, which would make every ranged fetch read the file from its start."""

from __future__ import annotations

import functools
import http.server
import os
import re
import socket
import threading
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class CountingRangeHandler(http.server.SimpleHTTPRequestHandler):
    sent: dict[str, int]  # set per server: bytes of body sent, per path
    lock: threading.Lock

    def log_message(self, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # a small send buffer: what a client stops reading is counted as sent only up to a few kilobytes
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)

    def send_head(self):  # type: ignore[override]
        path = Path(self.translate_path(self.path))
        m = _RANGE.match(self.headers.get("Range", "").strip())
        if not path.is_file() or not m:
            return super().send_head()
        size = path.stat().st_size
        start = int(m[1]) if m[1] else max(0, size - int(m[2] or 0))
        end = min(int(m[2]), size - 1) if m[1] and m[2] else size - 1
        if start >= size:
            self.send_error(416)
            return None
        f = open(path, "rb")
        f.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self._remaining = end - start + 1
        return f

    def copyfile(self, source, outputfile) -> None:  # type: ignore[override]
        remaining = getattr(self, "_remaining", None)
        while True:
            want = 16 * 1024 if remaining is None else min(16 * 1024, remaining)
            chunk = source.read(want) if want else b""
            if not chunk:
                break
            try:
                outputfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):  # ffmpeg closes a range once it has what it needs
                break
            with self.lock:
                self.sent[self.path] = self.sent.get(self.path, 0) + len(chunk)
            if remaining is not None:
                remaining -= len(chunk)
        self._remaining = None


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str, dict[str, int]]:
    """Start serving ``root``; returns (server, base URL, bytes sent per path). Call server.shutdown() when done."""
    sent: dict[str, int] = {}
    handler = type("Handler", (CountingRangeHandler,), {"sent": sent, "lock": threading.Lock()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=os.fspath(root)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}", sent
