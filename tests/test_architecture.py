"""Guard rails on the code's structure: each stage's dvc.yaml deps cover every project file the stage imports
(``stage_code.code_files``, the same list the resume fingerprints hash), so no code change escapes ``dvc repro``."""

from __future__ import annotations

from pathlib import Path

import pytest
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
            if f.startswith(
                (
                    "sound2video/models",
                    "sound2video/models/audio",
                    "sound2video/models/inversion",
                    "sound2video/models/video",
                )
            )
        )
        assert not leaked, f"{stage} depends on model code: {leaked}"
