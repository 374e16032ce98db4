"""Adding a stage is guarded: the plan, the README params reference and the params registry must know every stage
of dvc.yaml, or a test names what is missing."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from sound2video.project.plan import MODEL_PLANS, NOT_PLANNED, build_plan
from sound2video.project.registry import PER_DATASET, PROJECT_WIDE

REPO = Path(__file__).resolve().parents[2]


def dvc_stage_names() -> list[str]:
    return list(yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"])


def test_every_stage_has_a_params_section():
    missing = [s for s in dvc_stage_names() if s not in PER_DATASET and s not in PROJECT_WIDE]
    assert not missing, f"dvc.yaml stages without a section in project/registry.py: {missing}"


def test_every_project_wide_stage_is_planned():
    stages = [s for s in dvc_stage_names() if s in PROJECT_WIDE]
    missing = [s for s in stages if s not in MODEL_PLANS and s not in NOT_PLANNED]
    assert not missing, f"stages with no entry in project/plan.py MODEL_PLANS (or NOT_PLANNED): {missing}"
    assert set(MODEL_PLANS) <= set(stages), "a plan for a stage dvc.yaml does not have"


def test_every_section_is_in_the_readme_params_reference():
    readme = (REPO / "README.md").read_text()
    reference = readme[readme.index("## Params reference") :]
    reference = reference[: reference.index("\n## ", 10)]
    missing = [s for s in [*PER_DATASET, *PROJECT_WIDE] if not re.search(rf"`{s}(\.<ds>)?`", reference)]
    assert not missing, f"sections not described in README.md's Params reference: {missing}"


def test_the_paper_plan_lists_every_planned_stage():
    plan = build_plan(REPO / "configs" / "paper.yaml")
    assert [m["stage"] for m in plan["models"]] == list(MODEL_PLANS)
