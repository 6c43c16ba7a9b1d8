"""Python's cyclic garbage collector kept off the model while it is built, handed over and read.

Building a large Pyomo model makes about a million objects and frees almost none; with the
collector on, every 700 allocations it scans the young objects and, as the heap grows, the
whole heap again and again (capb-5000: the build took 2.9 s with it, 1.7 s without).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_collection() -> Iterator[None]:
    """Run the block with the collector off; what it made then goes straight to the oldest
    generation (``gc.freeze()`` then ``gc.unfreeze()``), so no later collection of the young
    generations scans it either (only a full collection would, when the heap has grown by a
    quarter). Nested blocks and a collector that was off already are left as they are; if
    the process froze objects itself (``gc.freeze``), the collector is only paused."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        gc.enable()
