"""The ``sound2video`` command line. Heavy libraries are imported inside the commands, so it starts fast."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _params_check(a: argparse.Namespace) -> None:
    from sound2video.project.validate import validate_all

    out = validate_all(a.params, a.classes)
    print(f"{a.params}: valid (profile {out['profile']!r}; data sets {', '.join(out['datasets'])})")


def _profile_list(a: argparse.Namespace) -> None:
    from sound2video.project.profiles import available

    for name in available(Path(a.config_dir)):
        print(name)


def _profile_use(a: argparse.Namespace) -> None:
    from sound2video.project.profiles import use

    src = use(a.name, Path(a.params), Path(a.config_dir), Path(a.classes))
    print(f"{a.params} <- {src}; run `dvc repro` to rebuild")


def _plan(a: argparse.Namespace) -> None:
    from sound2video.project.plan import build_plan, render_table, resolve_profile

    plan = build_plan(resolve_profile(a.profile, a.config_dir))
    print(json.dumps(plan, indent=2) if a.json else render_table(plan), end="" if not a.json else "\n")


def _data_inspect(a: argparse.Namespace) -> None:
    from sound2video.data.inspect import inspect_path

    print(json.dumps(inspect_path(a.path), indent=2, default=str))


def _data_classes(a: argparse.Namespace) -> None:
    from sound2video.data.classes import ClassTable

    for i, c in enumerate(ClassTable.read(a.classes).classes):
        print(f"{i}\t{c.name}\t{c.prompt!r}\tVGG-Sound: {c.vggsound_label!r}")


def _audio_embed(a: argparse.Namespace) -> None:
    import numpy as np

    from sound2video.models import load

    vec = load(a.model, expected_format="audio").embed_file(a.file)
    if a.out:
        np.save(a.out, vec)
        print(f"wrote {a.out} ({vec.shape[0]}-d, L2-normalised)")
    else:
        print(json.dumps([round(float(v), 6) for v in vec]))


def _audio_classify(a: argparse.Namespace) -> None:
    from sound2video.models import load

    labels = [s.strip() for s in a.labels.split(",") if s.strip()]
    if len(labels) < 2:
        raise ValueError("--labels needs at least two comma-separated labels")
    for label, p in load(a.model, expected_format="audio").classify(a.file, labels, a.top_k):
        print(f"{p:.4f}\t{label}")


def build_parser() -> argparse.ArgumentParser:
    from sound2video import __version__

    p = argparse.ArgumentParser(
        prog="sound2video",
        description="Sound-guided semantic video generation: data "
        "pipeline and tools. Stages run through `dvc repro` (see README.md).",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument(
        "--verbose", action="store_true", help="also show third-party INFO lines and known-harmless warnings"
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_project_commands(sub)
    _add_data_and_audio_commands(sub)
    _add_package_commands(sub)
    return p


def _add_project_commands(sub: Any) -> None:
    """params check, profile list/use, plan."""
    params = sub.add_parser("params", help="validate params files").add_subparsers(dest="sub", required=True)
    chk = params.add_parser("check", help="validate every section of a params file")
    chk.add_argument("params", nargs="?", default="params.yaml")
    chk.add_argument("--classes", default="data/classes.csv")
    chk.set_defaults(func=_params_check)

    prof = sub.add_parser("profile", help="list or switch profiles (configs/*.yaml)").add_subparsers(
        dest="sub", required=True
    )
    pl = prof.add_parser("list", help="list the available profiles")
    pl.add_argument("--config-dir", default="configs")
    pl.set_defaults(func=_profile_list)
    pu = prof.add_parser("use", help="validate configs/NAME.yaml and copy it onto params.yaml")
    pu.add_argument("name")
    pu.add_argument("--params", default="params.yaml")
    pu.add_argument("--config-dir", default="configs")
    pu.add_argument("--classes", default="data/classes.csv")
    pu.set_defaults(func=_profile_use)

    pln = sub.add_parser("plan", help="what a profile will fetch, cut and train, and what it costs, before it runs")
    pln.add_argument("profile", nargs="?", default="params.yaml", help="a profile name (configs/NAME.yaml) or a path")
    pln.add_argument("--config-dir", default="configs")
    pln.add_argument("--json", action="store_true", help="print the plan as JSON")
    pln.set_defaults(func=_plan)


def _add_data_and_audio_commands(sub: Any) -> None:
    """data inspect/classes, audio embed/classify."""
    data = sub.add_parser("data", help="inspect data").add_subparsers(dest="sub", required=True)
    ins = data.add_parser("inspect", help="summarise a shard (.tar), a ledger (.parquet) or a folder of either")
    ins.add_argument("path")
    ins.set_defaults(func=_data_inspect)
    cl = data.add_parser("classes", help="list the classes in data/classes.csv")
    cl.add_argument("--classes", default="data/classes.csv")
    cl.set_defaults(func=_data_classes)

    audio = sub.add_parser("audio", help="the audio tower: embed or classify a sound").add_subparsers(
        dest="sub", required=True
    )
    emb = audio.add_parser("embed", help="embed an audio file into CLIP space")
    emb.add_argument("file")
    emb.add_argument("--model", default="models/audio")
    emb.add_argument("--out", help="save the vector as .npy (default: print JSON)")
    emb.set_defaults(func=_audio_embed)
    cls = audio.add_parser("classify", help="zero-shot classify an audio file against text labels")
    cls.add_argument("file")
    cls.add_argument("--labels", required=True, help='comma-separated, e.g. "rain,thunder,fire crackling"')
    cls.add_argument("--model", default="models/audio")
    cls.add_argument("--top-k", type=int, default=5)
    cls.set_defaults(func=_audio_classify)


def _add_package_commands(sub: Any) -> None:
    """The sub-commands each package declares in its own commands.py."""
    from sound2video.metrics.commands import add_parsers as add_metrics

    add_metrics(sub)
    from sound2video.models.stylegan3.commands import add_parsers as add_stylegan3

    add_stylegan3(sub)
    from sound2video.models.inversion.commands import add_parsers as add_invert

    add_invert(sub)
    from sound2video.models.video.commands import add_parsers as add_generate

    add_generate(sub)
    from sound2video.data.snapshot.commands import add_parsers as add_snapshot

    add_snapshot(sub)
    from sound2video.curation.commands import add_parsers as add_curate

    add_curate(sub)


def main(argv: Sequence[str] | None = None) -> int:
    from sound2video.core.entry import run_main

    args = build_parser().parse_args(argv)
    if args.verbose:
        os.environ["SOUND2VIDEO_VERBOSE"] = "1"  # for this process and the stages it starts
    return run_main(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
