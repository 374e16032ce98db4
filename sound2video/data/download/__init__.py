"""The download stage: manifest items -> validated media files + a ledger row each."""
