"""The code that decides a stage's outputs, derived from its imports: one source of truth for both the resume
fingerprints of training stages and the test that checks each stage's ``dvc.yaml`` deps.

``code_files`` walks the imports of a stage script or module statically (every ``import`` statement, at the top
level or inside functions; never running the code), keeps this project's files, and follows them transitively. A
module imported by name also runs its packages' ``__init__.py``, so those count too.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent   # the repository (the folder holding the package)
PACKAGE = Path(__file__).resolve().parent.name


def _module_file(dotted: str) -> Path | None:
    """The project file of a dotted module name, or None when it is not this project's."""
    parts = dotted.split(".")
    if parts[0] != PACKAGE:
        return None
    base = ROOT.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _module_name(path: Path) -> str | None:
    """Dotted name of a project file (None for scripts outside the package, e.g. ``stages/*.py``)."""
    rel = path.relative_to(ROOT).with_suffix("")
    if rel.parts[0] != PACKAGE:
        return None
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _with_parents(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


@lru_cache(maxsize=None)
def _imported(path: Path) -> tuple[str, ...]:
    """Dotted names of everything ``path`` imports (top-level and function-level), relative imports resolved."""
    name = _module_name(path)
    package = (name if path.name == "__init__.py" else name.rpartition(".")[0]) if name else ""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                up = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.append(base)
            found += [f"{base}.{alias.name}" for alias in node.names]   # `from pkg import module`
    return tuple(found)


def code_files(module: str) -> list[Path]:
    """Sorted project source files that ``module`` depends on, itself included: ``module`` is a script path
    relative to the repository (``stages/train_audio.py``) or a dotted module (``sound2video.audio.stage``)."""
    start = (ROOT / module) if module.endswith(".py") else _module_file(module)
    if start is None or not start.is_file():
        raise FileNotFoundError(f"{module}: no such project module or script under {ROOT}")
    seen: set[Path] = set()
    todo = [start.resolve()]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for dotted in _imported(path):
            for name in _with_parents(dotted):
                target = _module_file(name)
                if target is not None and target.resolve() not in seen:
                    todo.append(target.resolve())
    return sorted(seen)
