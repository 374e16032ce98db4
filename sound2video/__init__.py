"""sound2video: a reproducible rebuild of "Sound-guided Semantic Video Generation" (Lee et al., ECCV 2022)."""

__version__ = "0.1.0"
