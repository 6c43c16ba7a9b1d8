"""The Dask cluster of a sweep or a progressive-hedging run: an existing one or a local one started for it."""

from __future__ import annotations

import logging
from typing import Any


def connect(workers: int, scheduler: Any, error: type[Exception]) -> tuple[Any, Any]:
    """``(client, cluster)``: a client of ``scheduler`` (a ``distributed.Client``, used as is, or
    an address) or of a new ``distributed.LocalCluster`` of ``workers`` single-threaded
    processes (``cluster``; None unless started here). The caller closes the client unless it
    is ``scheduler``, and the cluster. Raises ``error`` when distributed is missing or the
    scheduler cannot be reached. A client or cluster of the run's own logs at WARNING
    (distributed's INFO lines are noise on the command line)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dependency declared in pyproject
        raise error("executor 'dask' needs dask[distributed]: pip install 'dask[distributed]'") from exc
    if isinstance(scheduler, Client):
        return scheduler, None
    log = logging.getLogger("distributed")
    log.setLevel(max(logging.WARNING, log.level))
    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None  # type: ignore[no-untyped-call]  # distributed: unannotated
        except (OSError, TimeoutError) as exc:
            raise error(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    cluster = LocalCluster(  # type: ignore[no-untyped-call]  # distributed: unannotated
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.WARNING)
    return Client(cluster), cluster  # type: ignore[no-untyped-call]


__all__ = ["connect"]
