"""Shared main() wrapper for stage scripts and the CLI: logging, and clean messages for expected errors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from sound2video.core.log import setup_logging
from sound2video.core.params_base import ParamsError


def run_main(fn: Callable[[], None]) -> int:
    """Run ``fn``; expected errors print one clear message (no traceback) and return a non-zero code."""
    setup_logging()
    log = logging.getLogger("sound2video")
    try:
        fn()
    except ParamsError as e:
        log.error("invalid params:\n%s", e)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted; finished work is kept and a rerun resumes")
        return 130
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        log.error("%s", e)
        log.debug("traceback:", exc_info=True)  # SOUND2VIDEO_LOG=DEBUG shows where it came from
        return 1
    return 0


def exit_with(fn: Callable[[], None]) -> None:
    sys.exit(run_main(fn))
