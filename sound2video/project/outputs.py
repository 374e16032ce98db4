"""What the pipeline writes, read from ``dvc.yaml`` itself: every stage's outs, metrics and plots, plus the working
folders its command writes (``--out data/<ds>/raw``, ``--checkpoints checkpoints/<m>``, ...). ``make clean-data``
removes exactly these, so a new stage is covered the moment it is declared.

A command argument counts as a working folder when it is a path inside the repository that is not one of the
stage's dependencies (nor a folder above one), not the params file, and holds no file git tracks (so a curation
folder with its hand-written ``class.json`` is never removed).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# top-level folders a stage may write into (an argument elsewhere, e.g. a URL or a class name, is not a path)
WRITABLE_ROOTS = ("data", "models", "checkpoints", "metrics", "plots", "reports")


@dataclass(frozen=True)
class StageOutputs:
    stage: str
    declared: tuple[str, ...]  # outs, metrics and plots in dvc.yaml
    working: tuple[str, ...]  # folders its command writes that DVC does not track


def _tracked(root: Path, path: str) -> bool:
    r = subprocess.run(["git", "ls-files", "--", path], cwd=root, capture_output=True, text=True, check=False)
    return bool(r.stdout.strip())


def _command_paths(cmd: str) -> list[str]:
    words = shlex.split(cmd)
    return [w for flag, w in zip(words, words[1:]) if flag.startswith("--") and w.split("/")[0] in WRITABLE_ROOTS]


def _is_dependency(path: str, deps: set[str]) -> bool:
    return any(d == path or d.startswith(path.rstrip("/") + "/") for d in deps)


def stage_outputs(root: str | Path = ".") -> list[StageOutputs]:
    """Every stage of ``root/dvc.yaml`` (``foreach`` expanded) with what it writes."""
    from dvc.repo import Repo

    root = Path(root).resolve()
    result = []
    with Repo(str(root)) as repo:
        for stage in repo.index.stages:
            if not getattr(stage, "cmd", None):
                continue
            rel = lambda p: str(Path(p.fs_path).resolve().relative_to(root))  # noqa: E731
            deps = {rel(d) for d in stage.deps}
            declared = tuple(sorted(rel(o) for o in stage.outs))
            working = tuple(
                sorted(
                    {
                        p.rstrip("/")
                        for p in _command_paths(stage.cmd)
                        if not _is_dependency(p, deps) and p not in declared and not _tracked(root, p)
                    }
                )
            )
            result.append(StageOutputs(stage.addressing, declared, working))
    return result


def removable(root: str | Path = ".") -> list[str]:
    """Every declared output and working folder of the pipeline, sorted, without repeats."""
    return sorted({p for s in stage_outputs(root) for p in (*s.declared, *s.working)})


def clean(root: str | Path = ".", dry_run: bool = False) -> list[str]:
    """Remove what the pipeline wrote (DVC's cache and the committed sources stay); returns the paths removed."""
    root = Path(root)
    gone = []
    for rel in removable(root):
        path = root / rel
        if not (path.exists() or path.is_symlink()):
            continue
        gone.append(rel)
        if dry_run:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return gone


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Remove every output and working folder the stages of dvc.yaml write.")
    ap.add_argument("--root", default=".")
    ap.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    a = ap.parse_args(argv)
    for rel in clean(a.root, a.dry_run):
        print(("would remove " if a.dry_run else "removed ") + rel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
