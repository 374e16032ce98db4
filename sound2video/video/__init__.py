"""The sound-guided video generator: per-frame audio windows, the training cache, generation and its I/O."""
