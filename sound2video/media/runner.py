"""Run ffmpeg/ffprobe: the one place that starts the tools, drains their stderr and turns a failure into an error
that names the user's file (never a temporary copy) with the tool's last stderr lines.

``run_tool`` runs a command to completion and returns its stdout; ``ToolProcess`` streams (frames piped in, or
decoded output read as it comes). Commands are argv lists from ``media.argv``: never run through a shell.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import IO

from sound2video.media.argv import version_command

INSTALL_HINT = "install Debian's package: apt-get install -y ffmpeg (`make setup` does this for you)"
STDERR_KEEP = 64 * 1024  # bytes of a streaming tool's stderr kept for its error: plenty for the last lines


class MediaError(RuntimeError):
    """ffmpeg/ffprobe failed on a file. ``source`` names the file as the user knows it (a path, URL or item),
    ``reason`` is the tool's last stderr lines or what went wrong (a timeout), ``returncode`` the exit status."""

    def __init__(
        self, message: str, *, tool: str = "", source: str = "", reason: str = "", returncode: int | None = None
    ) -> None:
        super().__init__(message)
        self.tool, self.source, self.reason, self.returncode = tool, source, reason, returncode


class ToolMissing(MediaError):
    """ffmpeg or ffprobe is not installed (or cannot be started): a setup problem, not a bad file."""


def failure(error: type[MediaError], tool: str, source: str, reason: str, returncode: int | None = None) -> MediaError:
    """The error for ``tool`` failing on ``source``: 'TOOL failed on SOURCE: REASON'."""
    return error(f"{tool} failed on {source}: {reason}", tool=tool, source=source, reason=reason, returncode=returncode)


def missing(tool: str, source: str, cause: OSError) -> ToolMissing:
    what = "not found on PATH" if isinstance(cause, FileNotFoundError) else f"cannot be started ({cause.strerror})"
    return ToolMissing(f"{tool} {what}, needed for {source}; {INSTALL_HINT}", tool=tool, source=source, reason=what)


def require_ffmpeg() -> None:
    """Fail early with an actionable message when ffmpeg/ffprobe are not on PATH."""
    absent = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if absent:
        raise ToolMissing(f"{' and '.join(absent)} not found on PATH; {INSTALL_HINT}", tool=absent[0])


@lru_cache(maxsize=1)
def ffmpeg_version() -> str:
    """The first line of ``ffmpeg -version``: the build, which shapes the bytes of everything it encodes."""
    out = run_tool(version_command(), "ffmpeg -version").decode("utf-8", "replace")
    return out.splitlines()[0] if out else "unknown"


def stderr_tail(stderr: bytes | str, source: str, aliases: Mapping[str, str] | None = None, lines: int = 3) -> str:
    """The last ``lines`` non-empty stderr lines joined by ' | ', with each path in ``aliases`` (a temporary copy)
    replaced by the name the user knows, and a leading 'SOURCE: ' dropped (the error names the source already)."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    for path, name in sorted((aliases or {}).items(), key=lambda kv: -len(kv[0])):  # longest first: no partial hits
        text = text.replace(path, name)
    kept = [ln.strip() for ln in text.splitlines() if ln.strip()][-lines:]
    kept = [ln[len(source) + 2 :] if ln.startswith(f"{source}: ") else ln for ln in kept]
    return " | ".join(kept) if kept else "no message"


def _tool(argv: Sequence[str | Path]) -> str:
    return Path(str(argv[0])).name


def run_tool(
    argv: Sequence[str | Path],
    source: str | Path,
    *,
    timeout: float | None = None,
    error: type[MediaError] = MediaError,
    aliases: Mapping[str, str] | None = None,
    tail_lines: int = 3,
) -> bytes:
    """Run ``argv`` to completion (stdin closed) and return its stdout.

    Raises ``error`` naming ``source`` with stderr's tail when the tool exits non-zero or runs past ``timeout``
    seconds (it is killed), and ToolMissing when the binary cannot be started.
    """
    tool, name = _tool(argv), str(source)
    try:
        r = subprocess.run(
            [str(a) for a in argv], stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise failure(error, tool, name, f"timed out after {timeout:g} s") from None
    except OSError as e:
        raise missing(tool, name, e) from None
    if r.returncode != 0:
        raise failure(error, tool, name, stderr_tail(r.stderr, name, aliases, tail_lines), r.returncode)
    return r.stdout


class ToolProcess:
    """A running tool for streaming: ``stdin=True`` pipes data in, ``stdout=True`` lets the caller read its output.

    Stderr is drained in a thread (a full stderr pipe would block the tool, and us with it) and its end kept for the
    error. Use as a context manager: leaving the block early kills the tool and closes its pipes.
    """

    def __init__(
        self,
        argv: Sequence[str | Path],
        source: str | Path,
        *,
        stdin: bool = False,
        stdout: bool = False,
        error: type[MediaError] = MediaError,
        aliases: Mapping[str, str] | None = None,
        tail_lines: int = 3,
    ) -> None:
        self.tool, self.source = _tool(argv), str(source)
        self.error, self.aliases, self.tail_lines = error, dict(aliases or {}), tail_lines
        self._stderr = bytearray()
        try:
            self.proc = subprocess.Popen(
                [str(a) for a in argv],
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except OSError as e:
            raise missing(self.tool, self.source, e) from None
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()

    @property
    def stdin(self) -> IO[bytes]:
        assert self.proc.stdin is not None, "started without stdin=True"
        return self.proc.stdin

    @property
    def stdout(self) -> IO[bytes]:
        assert self.proc.stdout is not None, "started without stdout=True"
        return self.proc.stdout

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while chunk := self.proc.stderr.read(4096):
            self._stderr += chunk
            if len(self._stderr) > 2 * STDERR_KEEP:
                del self._stderr[:-STDERR_KEEP]

    def tail(self) -> str:
        """The end of stderr so far (complete once the tool has exited and ``wait`` returned)."""
        return stderr_tail(bytes(self._stderr), self.source, self.aliases, self.tail_lines)

    def failure(self, what: str | None = None) -> MediaError:
        """The error for this run: stderr's tail, after ``what`` (e.g. 'stopped reading frames') when given."""
        reason = f"{what}: {self.tail()}" if what else self.tail()
        return failure(self.error, self.tool, self.source, reason, self.proc.returncode)

    def close_stdin(self) -> None:
        """End of input; a tool that already stopped reading is no error here (its exit status tells)."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass

    def wait(self, timeout: float | None = None) -> int:
        """The exit status; past ``timeout`` seconds the tool is killed and ``error`` raised."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise failure(self.error, self.tool, self.source, f"timed out after {timeout:g} s") from None
        self._drain.join()
        return code

    def finish(self, timeout: float | None = None) -> None:
        """Close stdin and wait; raise ``error`` naming the source with stderr's tail when the tool failed."""
        self.close_stdin()
        if self.wait(timeout) != 0:
            raise self.failure()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._drain.join()

    def __enter__(self) -> ToolProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.kill()
        self.close_stdin()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
