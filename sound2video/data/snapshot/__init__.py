"""Named, shareable versions of a built data set: git tags over DVC-pushed shards, ledgers and data card."""
