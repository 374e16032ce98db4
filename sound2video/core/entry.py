"""Shared main() wrapper for stage scripts and the CLI: logging, and clean messages for expected errors."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

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


class StageArgumentParser(argparse.ArgumentParser):
    """A stage script's parser: ``--params`` and ``--verbose`` on every stage, the rest added by the script."""

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description=description)
        self.add_argument("--params", default="params.yaml")
        self.add_argument(
            "--verbose", action="store_true", help="also show third-party INFO lines and known-harmless warnings"
        )

    def parse_args(self, args: Sequence[str] | None = None, namespace: object = None) -> argparse.Namespace:  # type: ignore[override]
        parsed = super().parse_args(args, namespace)  # type: ignore[arg-type]
        if parsed.verbose:
            os.environ["SOUND2VIDEO_VERBOSE"] = "1"
        return parsed
