"""Logging to stderr and progress bars that stay quiet when nobody is watching."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def setup_logging(level: str | None = None) -> None:
    """Configure the root logger once: stderr, one line per record."""
    level = (level or os.environ.get("SOUND2VIDEO_LOG", "INFO")).upper()
    root = logging.getLogger()
    if not any(getattr(h, "_sound2video", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        handler._sound2video = True  # type: ignore[attr-defined]
        root.addHandler(handler)
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
