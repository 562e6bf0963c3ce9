"""Kept pods do not live forever: delete done pods older than `done_pod_retention` (DESIGN §4.5).

A done pod's result is already committed (that is what the done label means),
so deleting it loses nothing. The sweep lists metadata only, selects by label
server-side, and deletes with a uid precondition.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from podherd.core.executor.attempts import DONE_AT_ANNOTATION, CleanupAction
from podherd.core.executor.cleanup import Cleaner, CleanupJob
from podherd.core.kube.classify import unusable
from podherd.core.labels import LabelScheme
from podherd.core.ports import Clock, Pod, PodAPI
from podherd.core.selectors import done_selector
from podherd.timefmt import parse

log = logging.getLogger("podherd.retention")


def expired(pod: Pod, retention: float, now: float) -> bool:
    """Past retention, judged by the done-at annotation (else the creation time, for foreign done pods)."""
    meta = pod.get("metadata") or {}
    stamp = (meta.get("annotations") or {}).get(DONE_AT_ANNOTATION) or meta.get("creationTimestamp") or ""
    t = parse(stamp)
    return t is not None and now - t >= retention


class RetentionSweep:
    """Call `maybe_run()` every loop; it sweeps at most every `period` seconds."""

    def __init__(
        self,
        pods: PodAPI,
        cleaner: Cleaner,
        scheme: LabelScheme,
        namespaces: Callable[[], list[str]],
        owners: Callable[[], list[str] | None],
        retention: float,
        period: float,
        exclude: Callable[[], list[str] | None] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.pods = pods
        self.cleaner = cleaner
        self.scheme = scheme
        self.namespaces = namespaces
        self.owners = owners
        self.retention = retention
        self.period = period
        self.exclude = exclude
        self.clock = clock
        self._last = 0.0
        self.deleted = 0

    def maybe_run(self) -> int:
        now = self.clock()
        if now - self._last < self.period:
            return 0
        self._last = now
        return self.run()

    def run(self) -> int:
        owners = self.owners()
        exclude = self.exclude() if self.exclude is not None else None
        if owners == [] or (self.exclude is not None and exclude is None):
            return 0  # nobody to sweep for, or the alive set is unknown: never widen
        selector = done_selector(self.scheme, owners, exclude)
        wall = time.time()
        n = 0
        for ns in self.namespaces():
            try:
                pods, _rv = self.pods.list_pods(ns, selector, metadata_only=True)
            except Exception as e:  # refusals are logged once by the API's health
                log.log(
                    logging.DEBUG if unusable(e) else logging.INFO,
                    "retention sweep of %s skipped (%s)",
                    ns,
                    type(e).__name__,
                )
                continue
            for pod in pods:
                if expired(pod, self.retention, wall):
                    meta = pod["metadata"]
                    self.cleaner.submit(CleanupJob(ns, meta["name"], meta.get("uid"), CleanupAction.DELETE, 0))
                    n += 1
        self.deleted += n
        return n
