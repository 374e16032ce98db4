"""The shard stage: ok clips -> per-split WebDataset tars, a shard index and a data card."""
