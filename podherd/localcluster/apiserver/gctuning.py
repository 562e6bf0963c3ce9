"""Process-wide GC tuning while a local cluster runs.

50k stored pods are millions of long-lived objects; with CPython's default
thresholds, full collections walking them all pause the whole process (including
a program embedding the cluster) for up to a second. While any cluster with
`gc_tuning` runs, the thresholds are `GC_THRESHOLDS` and the startup heap is
frozen; the last one to stop restores both.
"""

from __future__ import annotations

import gc
import threading

# gen0 allocations, gen0 runs per gen1, gen1 runs per full collection. Young collections then walk at
# most ~50k/500k objects (pauses of ~10/~250 ms at 50k pods, vs 0.4-1.1 s full collections before);
# (100_000, 20, 100) measured the same in total but let one gen1 collection pause ~700 ms.
GC_THRESHOLDS = (50_000, 10, 100)


class GcTuning:
    """The process's GC settings while at least one cluster with `gc_tuning` runs (clusters can nest)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved: tuple[int, int, int] | None = None
        self._froze = False

    def acquire(self) -> None:
        with self._lock:
            self._users += 1
            if self._users == 1:
                self._saved = gc.get_threshold()
                gc.set_threshold(*GC_THRESHOLDS)
                self._froze = gc.get_freeze_count() == 0  # a program that freezes by itself is left alone
                if self._froze:
                    gc.freeze()

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                if self._saved is not None and gc.get_threshold() == GC_THRESHOLDS:  # unless changed since
                    gc.set_threshold(*self._saved)
                if self._froze:
                    gc.unfreeze()
                self._saved, self._froze = None, False


GC_TUNING = GcTuning()
