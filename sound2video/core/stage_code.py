"""The code that decides a stage's outputs, derived from its imports: one source of truth for both the resume
fingerprints of training stages and the test that checks each stage's ``dvc.yaml`` deps.

``code_files`` walks the imports of a stage script or module statically (every ``import`` statement, at the top
level or inside functions; never running the code), keeps this project's files, and follows them transitively. A
module imported by name also runs its packages' ``__init__.py``, so those count too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository (the folder holding the package)
PACKAGE = Path(__file__).resolve().parents[1].name


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


# "sound2video.models.audio.modeling_audio:from_contract": how registries name code they import on demand (models.FORMATS)
_LAZY_TARGET = re.compile(rf"^{PACKAGE}(\.[A-Za-z_][A-Za-z0-9_]*)+:[A-Za-z_][A-Za-z0-9_]*$")


def _with_parents(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` without ``if TYPE_CHECKING:`` bodies (imports for annotations run no code)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


@cache
def _imported(path: Path) -> tuple[str, ...]:
    """Dotted names of everything ``path`` imports (top-level and function-level), relative imports resolved."""
    name = _module_name(path)
    package = (name if path.name == "__init__.py" else name.rpartition(".")[0]) if name else ""
    found: list[str] = []
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.append(base)
            found += [f"{base}.{alias.name}" for alias in node.names]  # `from pkg import module`
    return tuple(found)


@cache
def _lazy_targets(path: Path) -> tuple[str, ...]:
    """Modules a registry in ``path`` imports on demand, named by "package.module:function" strings."""
    return tuple(
        node.value.partition(":")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _LAZY_TARGET.match(node.value)
    )


def code_files(module: str) -> list[Path]:
    """Sorted project source files that ``module`` depends on, itself included: ``module`` is a script path
    relative to the repository (``stages/train_audio.py``) or a dotted module (``sound2video.models.audio.stage``)."""
    start = (ROOT / module) if module.endswith(".py") else _module_file(module)
    if start is None or not start.is_file():
        raise FileNotFoundError(f"{module}: no such project module or script under {ROOT}")
    # A module imported by name counts with its registry's lazy targets (``models.load`` may import any model
    # format); a package run only as the parent of an imported submodule counts without them.
    seen: set[Path] = set()
    seen_direct: set[Path] = set()
    todo = [(start.resolve(), True)]
    while todo:
        path, direct = todo.pop()
        if path in seen_direct or (path in seen and not direct):
            continue
        seen.add(path)
        names = list(_imported(path))
        if direct:
            seen_direct.add(path)
            names += _lazy_targets(path)
        for dotted in names:
            chain = _with_parents(dotted)
            for name in chain:
                target = _module_file(name)
                if target is not None:
                    todo.append((target.resolve(), name == chain[-1]))
    return sorted(seen)


def dvc_deps(script: str) -> list[str]:
    """The code deps to declare in dvc.yaml for a stage script: ``code_files`` with every package folder whose
    files are all used collapsed into the folder (shorter, and new files in it are covered)."""
    files = {p.resolve() for p in code_files(script)}
    out: list[str] = []

    def walk(folder: Path) -> None:
        py = sorted(folder.rglob("*.py"))
        if py and all(p.resolve() in files for p in py):
            out.append(folder.relative_to(ROOT).as_posix())
            return
        for p in sorted(folder.glob("*.py")):
            if p.resolve() in files:
                out.append(p.relative_to(ROOT).as_posix())
        for sub in sorted(d for d in folder.iterdir() if d.is_dir() and (d / "__init__.py").is_file()):
            walk(sub)

    walk(ROOT / PACKAGE)
    return [script, *out]


def sync_dvc_yaml(path: Path) -> list[str]:
    """Rewrite each stage's code deps in ``dvc.yaml`` (entries under ``stages/`` and the package) from
    ``dvc_deps``, keeping every other dep and the file's layout; returns the stages that changed."""
    import yaml

    stages = yaml.safe_load(path.read_text())["stages"]
    lines = path.read_text().splitlines()
    changed: list[str] = []
    out: list[str] = []
    stage: str | None = None
    in_deps = False
    inserted = False
    for line in lines:
        if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
            stage, in_deps = line.strip()[:-1], False
        stripped = line.strip()
        if stripped == "deps:":
            in_deps, inserted = True, False
            out.append(line)
            continue
        if in_deps and (stripped.startswith("- ") or stripped.startswith("#")):
            item = stripped[2:].strip() if stripped.startswith("- ") else ""
            if stripped.startswith("#") or item.startswith(("stages/", f"{PACKAGE}/")):
                if not inserted and stage is not None and stage in stages:
                    indent = line[: len(line) - len(line.lstrip())]
                    out += [f"{indent}- {d}" for d in dvc_deps(f"stages/{stage}.py")]
                    inserted = True
                continue
            out.append(line)
            continue
        in_deps = False
        out.append(line)
    text = "\n".join(out) + "\n"
    if text != path.read_text():
        changed = [s for s in stages]
        path.write_text(text)
    return changed


if __name__ == "__main__":  # python -m sound2video.core.stage_code: rewrite dvc.yaml's code deps from the imports
    import sys

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dvc.yaml"
    print("updated" if sync_dvc_yaml(target) else "unchanged", target)
