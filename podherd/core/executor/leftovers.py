"""The owner's own sweep for pods it finished but could not remove (DESIGN §4.5, while the owner lives).

A cleanup that gave up (the Cleaner's tries ran out: the API was failing) leaves a terminal pod
that still carries our owner label and no done label. Nobody else will touch it: the completed-pod
sweep of the survivors excludes live owners, and retention only selects done-labelled pods. So the
owner looks at what its own watches know, level-triggered, every `period`: a terminal pod of ours
that no attempt tracks and that no cleanup is working on, seen so in two consecutive passes, is
finished again (its result is recorded idempotently first, then it is deleted or labelled done).

The two-pass rule keeps the sweep from racing a cleanup that just succeeded and whose DELETED
event is still on its way: no redundant writes in steady state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from podherd.core.podstatus import TERMINAL_PHASES
from podherd.core.ports import Clock, Pod
from podherd.core.stats import Tally


@dataclass(frozen=True)
class LeftoverStats:
    passes: int = 0
    retried: int = 0  # pods finished again by this sweep


class LeftoverSweep:
    def __init__(
        self,
        pods: Callable[[], Iterable[tuple[str, Pod]]],
        busy: Callable[[str, str, str], bool],
        finish: Callable[[Pod, str], bool],
        period: float,
        clock: Clock = time.monotonic,
    ) -> None:
        """`pods()`: (namespace, pod) our watches know; `busy(ns, name, uid)`: an attempt or a
        cleanup has it; `finish(pod, ns)`: record (idempotent) and clean it up again."""
        self.pods = pods
        self.busy = busy
        self.finish = finish
        self.period = period
        self.clock = clock
        self._tally = Tally(LeftoverStats)
        self._last = clock()
        self._suspects: set[str] = set()

    @property
    def stats(self) -> LeftoverStats:
        return self._tally.snapshot()

    def maybe_run(self) -> int:
        now = self.clock()
        if now - self._last < self.period:
            return 0
        self._last = now
        return self.run()

    def run(self) -> int:
        self._tally.add("passes")
        seen: set[str] = set()
        n = 0
        for namespace, pod in list(self.pods()):
            meta = pod.get("metadata") or {}
            uid = meta.get("uid", "")
            phase = (pod.get("status") or {}).get("phase")
            if (
                phase not in TERMINAL_PHASES
                or meta.get("deletionTimestamp")
                or self.busy(namespace, meta.get("name", ""), uid)
            ):
                continue
            seen.add(uid)
            if uid in self._suspects and self.finish(pod, namespace):
                self._tally.add("retried")
                n += 1
        self._suspects = seen
        return n
