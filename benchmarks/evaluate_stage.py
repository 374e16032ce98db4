"""Time of the ``evaluate`` stage split into generation (per row) and each metric's extraction, at the demo size.

    PYTHONPATH=. python benchmarks/evaluate_stage.py --shards data/landscape/shards [--model models/video]

With ``--model`` the trained model is loaded by the stage's own loader; without it, demo-size random stand-ins are
used (a 64 px StyleGAN3-T with the demo's widths, a SoundToLatents at the demo's mel front-end, the tests' tiny CLIP
and audio projections), which costs the same to run. Prints the stage's timings.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def demo_size_loader():
    import evaluate_fixtures as fx
    import torch

    from sound2video.models.audio.mel import MelParams
    from sound2video.models.stylegan3 import GeneratorConfig
    from sound2video.models.stylegan3.modeling_stylegan3 import Generator
    from sound2video.models.video.audio_windows import window_shape
    from sound2video.models.video.configuration_video import RecurrentParams, SoundEncoderParams
    from sound2video.models.video.modeling_video import SoundToLatents, VideoGenerator

    mel = MelParams(sample_rate=16000, clip_seconds=1.0, n_fft=1024, hop_length=320, n_mels=64, fmin=50, fmax=8000)
    fx.MEL, fx.WINDOW = mel, 1.0  # the stand-in audio projections follow the demo's mel front-end
    base = fx.stub_loader()

    def load(video_dir, prompts, device):
        models = base(video_dir, prompts, device)
        torch.manual_seed(0)
        G = Generator(GeneratorConfig.preset("T", 64, channel_base=1024, channel_max=32, z_dim=64, w_dim=64)).eval()
        n_mels, width = window_shape(mel, 1.0)
        latents = SoundToLatents(
            SoundEncoderParams(width=16, blocks=[1, 1, 1, 1], sound_dim=64),
            RecurrentParams(gru_layers=2, hidden=64, noise_dim=16),
            G.synthesis.num_ws,
            G.w_dim,
            n_mels,
            width,
        )
        models.video = VideoGenerator(latents, G, None, mel, 5.0, 1.0, 0.7)
        models.G = G
        return models

    return load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shards", default="data/landscape/shards")
    ap.add_argument("--model", default=None, help="a trained models/video folder (default: random stand-ins)")
    ap.add_argument("--traumerai-steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    from sound2video.evaluation.loading import load_models
    from sound2video.evaluation.params import EvaluateParams
    from sound2video.evaluation.stage import EvaluatePaths, run

    with tempfile.TemporaryDirectory(prefix="s2v-bench-eval-") as tmp:
        t = Path(tmp)
        params = EvaluateParams(
            cache_root=str(t / "cache"), threads=a.threads, traumerai={"steps": a.traumerai_steps, "batch_size": 4}
        )
        start = time.monotonic()
        paths = EvaluatePaths(
            shards=Path(a.shards),
            model=Path(a.model or t / "none"),
            classes=ROOT / "data" / "classes.csv",
            metrics=t / "metrics",
            plots=t / "plots",
            report=t / "report",
            work=t / "work",
        )
        run(params, paths, loader=load_models if a.model else demo_size_loader())
        print(json.dumps(json.loads((t / "work" / "timings.json").read_text()), indent=1))
        print(f"wall: {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main()
