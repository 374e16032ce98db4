"""The data half: sources -> download -> cut -> shard (WebDataset + data card), snapshots, the ledgered work
queue and where it runs, class tables."""
