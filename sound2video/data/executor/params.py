"""Params of the ``executor`` section: where the item-parallel data stages (download, cut) run their workers.

One project-wide section read by every stage that uses the work queue. It is deliberately NOT a DVC param dep of
those stages: both engines produce byte-identical outputs and ledgers, so switching engine must not rerun a stage.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from sound2video.core.params_base import StrictParams

ADDRESS_PATTERN = r"^(tcp|tls|ucx|inproc)://\S+$"


class ExecutorParams(StrictParams):
    kind: Literal["local", "dask"] = Field(
        "local", description="local: a thread pool in the stage's process; dask: Dask distributed workers"
    )
    address: Optional[str] = Field(
        None,
        pattern=ADDRESS_PATTERN,
        description="dask: the address of a running scheduler (tcp://host:8786); null: the stage starts and stops "
        "a LocalCluster on this machine",
    )
    n_workers: Optional[int] = Field(
        None, ge=1, le=1024, description="dask LocalCluster: worker processes; null: the stage's own `workers`"
    )
    threads_per_worker: int = Field(1, ge=1, le=64, description="dask LocalCluster: threads in each worker process")
    retries: int = Field(
        2,
        ge=0,
        le=100,
        description="dask: re-runs of an item whose worker raised (a dead worker's items re-run anyway)",
    )
    resources: dict[str, float] = Field(
        default_factory=dict,
        description="dask: abstract resources one item needs, e.g. {CPU: 1}; workers of an external cluster must "
        "advertise them (dask worker --resources 'CPU=4'); a LocalCluster advertises them per thread",
    )
    connect_timeout_seconds: float = Field(30.0, gt=0, description="dask: how long to wait for the scheduler")

    @model_validator(mode="after")
    def _dask_only(self) -> ExecutorParams:
        if self.kind == "local" and (self.address or self.n_workers or self.resources):
            raise ValueError("address, n_workers and resources apply only to kind: dask")
        if self.address and self.n_workers:
            raise ValueError("n_workers starts a LocalCluster; it cannot be combined with an address")
        for name, amount in self.resources.items():
            if amount <= 0:
                raise ValueError(f"resources.{name}: expected a positive amount, got {amount}")
        return self
