"""Guard rails on the code's structure: each stage's dvc.yaml deps cover every project file the stage imports
(``stage_code.code_files``, the same list the resume fingerprints hash), so no code change escapes ``dvc repro``;
every package sits in a layer of the import contract; functions stay short; one log-mel (ffmpeg argv only in
``media/``: ``tests/media/test_media_argv.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import tomllib
import yaml

from sound2video.core.stage_code import ROOT, code_files


def _stages() -> list[tuple[str, list[str]]]:
    """(stage name, code deps) for every stage of dvc.yaml, foreach stages included (one case per stage: the
    code deps of a foreach stage do not depend on the item)."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    out = []
    for name, stage in sorted(stages.items()):
        body = stage["do"] if "foreach" in stage else stage
        out.append((name, [d if isinstance(d, str) else next(iter(d)) for d in body.get("deps", [])]))
    return out


@pytest.mark.parametrize("name, deps", [pytest.param(n, d, id=n) for n, d in _stages()])
def test_stage_deps_cover_the_code_it_imports(name: str, deps: list[str]) -> None:
    script = f"stages/{name}.py"
    assert script in deps, f"{name}: dvc.yaml deps lack its script {script}"
    covered = [ROOT / d for d in deps]
    missing = [
        p.relative_to(ROOT).as_posix() for p in code_files(script) if not any(p == c or c in p.parents for c in covered)
    ]
    assert not missing, f"{name}: dvc.yaml deps miss files the stage imports: {missing}"


def test_code_files_follows_function_level_and_relative_imports() -> None:
    files = {p.relative_to(ROOT).as_posix() for p in code_files("sound2video.models.inversion.stage")}
    # imported inside main(): the generator loader, the LPIPS loader, the frozen CLIP
    assert {
        "sound2video/models/stylegan3/checkpoint.py",
        "sound2video/metrics/image.py",
        "sound2video/core/frozen_clip.py",
        "sound2video/training/loop.py",
    } <= files
    assert "sound2video/models/audio/stage.py" not in files and all(Path(ROOT / f).is_file() for f in files)


def test_dvc_yaml_code_deps_are_in_sync(tmp_path: Path) -> None:
    """`python -m sound2video.core.stage_code` (which rewrites the code deps from the imports) has nothing to change."""
    from sound2video.core.stage_code import sync_dvc_yaml

    copy = tmp_path / "dvc.yaml"
    copy.write_text((ROOT / "dvc.yaml").read_text())
    assert not sync_dvc_yaml(copy), "dvc.yaml code deps are stale: run `python -m sound2video.core.stage_code`"


def test_data_stages_do_not_depend_on_model_code() -> None:
    """A data stage reads its params through its own class, so editing a model's code or params never reruns it."""
    for stage in ("download", "cut", "shard"):
        files = {p.relative_to(ROOT).as_posix() for p in code_files(f"stages/{stage}.py")}
        leaked = sorted(
            f
            for f in files
            if f.startswith(("sound2video/models/", "sound2video/evaluation/", "sound2video/training/"))
        )
        assert not leaked, f"{stage} depends on model code: {leaked}"


PACKAGE = ROOT / "sound2video"
MAX_FUNCTION_LINES = 80


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_function_over_80_lines() -> None:
    long = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def _layered_names() -> dict[str, set[str]]:
    """container -> the module names its layers contract lists (pyproject.toml [tool.importlinter])."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    out: dict[str, set[str]] = {}
    for c in contracts:
        if c["type"] == "layers":
            for container in c["containers"]:
                out.setdefault(container, set()).update(
                    name.strip() for layer in c["layers"] for name in layer.split("|")
                )
    return out


def test_every_package_and_module_is_in_a_layer() -> None:
    """A package left out of the layers contract would not be checked at all: name it here."""
    layered = _layered_names()
    missing = []
    for container, names in layered.items():
        folder = ROOT.joinpath(*container.split("."))
        children = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
        children |= {p.name for p in folder.iterdir() if (p / "__init__.py").is_file()}
        missing += [f"{container}.{c}" for c in sorted(children - names)]
    assert not missing, f"modules in no layer of pyproject.toml's import contract: {missing}"
    assert {"sound2video", "sound2video.data", "sound2video.models", "sound2video.core"} <= set(layered)


def test_one_log_mel_definition() -> None:
    """The audio tower and the video model share one log-mel: one place calls librosa's melspectrogram."""
    callers = [str(p.relative_to(ROOT)) for p in _sources() if "melspectrogram(" in p.read_text()]
    assert callers == ["sound2video/models/audio/mel.py"], callers
