"""Entry of the training stage scripts: run the stage in this process, or, when the stage's own block asks for
``distributed.nproc_per_node`` > 1, re-run the same script under ``torchrun --standalone`` (one process per rank).

DVC's ``cmd`` stays the plain ``python stages/train_x.py ...``; the switch is the stage's param. A script already
started by torchrun (``WORLD_SIZE`` set, e.g. multi-node ``srun torchrun --nnodes ...``) runs as it is.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable

from sound2video.core.entry import run_main
from sound2video.core.params_base import DistributedParams, ParamsError
from sound2video.core.params_io import read_yaml

log = logging.getLogger(__name__)


def nproc_per_node(params_path: str, section: str) -> int:
    """``<section>.distributed.nproc_per_node`` of ``params_path`` (1 when absent), validated."""
    block = read_yaml(params_path).get(section) or {}
    raw = block.get("distributed") if isinstance(block, dict) else None
    try:
        return DistributedParams.model_validate(raw or {}).nproc_per_node
    except ValueError as e:
        raise ParamsError(f"{params_path}: {section}.distributed: {e}") from None


def torchrun_command(nproc: int, argv: list[str]) -> list[str]:
    """The argument list that re-runs ``argv`` (script and arguments) under torchrun on this machine."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *argv]


def _run_rank(fn: Callable[[], object]) -> int:
    try:
        return run_main(fn)  # type: ignore[arg-type]
    finally:
        if "torch.distributed" in sys.modules:  # end the process group a rank started (training.distributed)
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def exit_with_launch(params_path: str, section: str, fn: Callable[[], object]) -> None:
    """Run ``fn`` here, or relaunch this script under torchrun as the stage's params ask; exit with its code."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        sys.exit(_run_rank(fn))
    asked: list[int] = []
    code = run_main(lambda: asked.append(nproc_per_node(params_path, section)))  # a bad value: one clear message
    if code:
        sys.exit(code)
    n = asked[0]
    if n == 1:
        sys.exit(_run_rank(fn))
    cmd = torchrun_command(n, [sys.argv[0], *sys.argv[1:]])
    log.info("%s: %d training processes: %s", section, n, " ".join(cmd))
    sys.exit(subprocess.run(cmd, check=False).returncode)
