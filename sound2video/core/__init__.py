"""Leaves every layer uses: params base classes and loading, logging, atomic files, cached arrays, stage entry,
remote files, the stage-code walker and the frozen CLIP."""
