"""``protocol.json``: everything that moves the evaluation's numbers, stated beside them (data, N, frames, fps,
resolution, seeds, detectors, how each metric is computed, the rows and the baselines' params)."""

from __future__ import annotations

from typing import Any

from sound2video.evaluation.params import EvaluateParams
from sound2video.evaluation.rows import ROWS
from sound2video.metrics.av_align import AUDIO_SAMPLE_RATE, FARNEBACK, PEAK_THRESHOLD


def build_protocol(
    params: EvaluateParams,
    clips: Any,
    reference_clips: int,
    video: Any,
    detectors: dict[str, dict[str, Any]],
    models: dict[str, Any],
    notes: list[str],
) -> dict[str, Any]:
    """Everything that moves these numbers, stated (``video.md`` section 3: protocols make FVD differ 10x)."""
    fvd, inc = params.fvd, params.inception
    keys, n_frames = clips.keys, clips.frames
    return {
        "dataset": params.dataset,
        "split": params.split,
        "clips": len(keys),
        "keys": keys,
        "videos": {
            "frames": n_frames,
            "fps": video.fps,
            "resolution": video.resolution,
            "seconds": n_frames / video.fps,
            "seed": f"video k starts from seed {params.seed} + k",
            "real": "the clips' frames resampled to the generation fps, centre-cropped, Lanczos-resized "
            "(the training cache's decoding)",
        },
        "fvd": {
            "reference_split": fvd.reference_split,
            "reference_clips": int(reference_clips),
            "generated_clips": len(keys),
            "frames": fvd.frames,
            "stride": fvd.stride,
            "clip": "first frames of each video",
            "detector": detectors["i3d"],
            "input": "uint8 RGB [B, 3, T, H, W]; the detector resizes to 224 and rescales to [-1, 1]",
            "covariance": "population (ddof 0), float64",
            "sqrtm": "scipy.linalg.sqrtm, real part",
        },
        "is": {
            "unit": "clip (C3D, UCF-101 classes)",
            "frames": inc.frames,
            "stride": inc.stride,
            "splits": f"min({inc.splits}, clips)",
            "shuffle_seed": inc.shuffle_seed,
            "detector": detectors["c3d"],
        },
        "clip": {
            "model": models.get("clip"),
            "video_embedding": "mean of the L2-normalised embeddings of all frames",
            "text": "class prompt, prompt templates of the audio tower averaged",
            "audio": "the audio tower's embedding of the whole clip sound",
            "similarity": "cosine, unscaled",
        },
        "av_align": {
            "reference": "av_align.py of guyyariv/TempoTokens, step by step",
            "audio": f"clip sound at its own rate resampled to {AUDIO_SAMPLE_RATE} Hz (librosa), "
            "onset_strength + onset_detect defaults",
            "video": f"Farneback {FARNEBACK} on the generation frames; peaks: strict local maxima >= "
            f"{PEAK_THRESHOLD} at i / fps",
            "match": "greedy, strictly within 1 / fps",
            "undefined": "no peak on either side: left out of the mean, counted in av_align_undefined",
        },
        "motion": "mean Farneback flow magnitude between consecutive frames, in pixels at the generation "
        "resolution (a frozen video scores 0)",
        "rows": {r: ROWS[r].title for r in params.rows},
        "traumerai": params.traumerai.model_dump(),
        "random_walk": params.random_walk.model_dump(),
        "models": models,
        "notes": notes,
    }
