"""Logging to stderr, progress bars that stay quiet when nobody is watching, and quiet third-party chatter.

A stage or command prints its own progress and summary lines. Two kinds of third-party output are filtered where
they come from, unless verbose (``--verbose`` or ``SOUND2VIDEO_VERBOSE=1``):
- INFO/DEBUG records emitted from inside the packages in ``QUIET_PACKAGES`` (open_clip logs eight INFO lines per
  model load through the root logger, so the filter looks at the file a record comes from, not its logger name);
- the warnings in ``KNOWN_HARMLESS_WARNINGS``, each matched by category, message and the module that raises it.
Everything else (their warnings and errors, every other library's output) still shows.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")

# third-party packages whose INFO lines are about their own plumbing (config lookups, checkpoint file names)
QUIET_PACKAGES = ("open_clip",)

# (category, message regex, module regex, why it is harmless here)
KNOWN_HARMLESS_WARNINGS: list[tuple[type[Warning], str, str, str]] = [
    (
        UserWarning,
        r"The parameter 'pretrained' is deprecated",
        r"torchvision\.models\._utils",
        "lpips builds its backbones with torchvision's old keyword; we load the weights from a path",
    ),
    (
        UserWarning,
        r"Arguments other than a weight enum or `None` for 'weights' are deprecated",
        r"torchvision\.models\._utils",
        "the same lpips call, second half of torchvision's message",
    ),
]


def verbose_requested() -> bool:
    """``SOUND2VIDEO_VERBOSE`` set to a true value (``--verbose`` sets it for the process and its children)."""
    return os.environ.get("SOUND2VIDEO_VERBOSE", "").lower() in ("1", "true", "yes")


class QuietThirdPartyInfo(logging.Filter):
    """Drops records below WARNING that were emitted from a file inside one of ``packages``."""

    def __init__(self, packages: Iterable[str] = QUIET_PACKAGES) -> None:
        super().__init__()
        self.markers = tuple(f"{os.sep}{p}{os.sep}" for p in packages)
        self.names = tuple(packages)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        from_package = any(m in record.pathname for m in self.markers)
        return not (from_package or record.name.split(".")[0] in self.names)


def quiet_known_warnings() -> None:
    """Ignore exactly the warnings listed in ``KNOWN_HARMLESS_WARNINGS`` (no blanket filters)."""
    for category, message, module, _why in KNOWN_HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)


def setup_logging(level: str | None = None, verbose: bool | None = None) -> None:
    """Configure the root logger once: stderr, one line per record; third-party chatter filtered unless verbose."""
    verbose = verbose_requested() if verbose is None else verbose
    level = (level or os.environ.get("SOUND2VIDEO_LOG", "INFO")).upper()
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_sound2video", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        handler._sound2video = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for f in [f for f in handler.filters if isinstance(f, QuietThirdPartyInfo)]:
        handler.removeFilter(f)
    if not verbose:
        handler.addFilter(QuietThirdPartyInfo())
        quiet_known_warnings()
    root.setLevel(level)


def progress(iterable: Iterable[T] | None = None, **kwargs: Any) -> Any:
    """A tqdm bar on stderr; hidden when stderr is not a terminal unless SOUND2VIDEO_PROGRESS=1."""
    from tqdm.auto import tqdm

    forced = os.environ.get("SOUND2VIDEO_PROGRESS")
    disable = None if forced is None else forced in ("0", "false", "no")
    if kwargs.pop("disable", None):  # the caller hides it (e.g. training ranks other than 0)
        disable = True
    kwargs.setdefault("file", sys.stderr)
    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("mininterval", 0.5)
    return tqdm(iterable, disable=disable, **kwargs)
