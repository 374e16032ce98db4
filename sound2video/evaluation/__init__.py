"""The ``evaluate`` stage: generated test videos for the model, its ablations and baselines, the paper's metrics
(FVD, IS, CLIP similarities) plus AV-Align and motion per row, and a report a person can watch."""
