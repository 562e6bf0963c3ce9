"""Result before removal (DESIGN §4.4): commit an attempt's outcome, then remove its pod — the one path.

Every finished attempt goes through `Results.finish`, whether this replica ran it, took it over
from a dead replica, or found it left over: the task store records the outcome (idempotently,
durably), and only then is the pod deleted (uid precondition) or labelled done. If the store
raises, nothing is removed and the caller keeps what it was handling for the next loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podherd.core.executor.attempts import cleanup_action
from podherd.core.executor.cleanup import Cleaner, CleanupJob
from podherd.core.executor.recent import RecentSet
from podherd.core.executor.settings import ExecutorSettings
from podherd.core.podstatus import FAILED, SUCCESS, TERMINAL_PHASES, Outcome
from podherd.core.ports import AttemptRef, Pod, PodAPI, PodRef, Result, StoreOp, TaskStore

LOG_TAIL_CHARS = 4000
Then = Callable[[Any], None]
Write = Callable[[StoreOp, Then | None], None]


class Results:
    def __init__(self, store: TaskStore, pods: PodAPI, cleaner: Cleaner, settings: ExecutorSettings) -> None:
        self.store = store
        self.pods = pods
        self.cleaner = cleaner
        self.settings = settings
        self.finished = RecentSet(10_000)  # uids finished here lately (a claim's answer, then its watch event)

    def finish(
        self,
        write: Write,
        ref: AttemptRef,
        outcome: Outcome,
        pod: PodRef | None,
        phase: str | None,
        log_tail: str = "",
        then: Then | None = None,
    ) -> None:
        """Record the result through `write`; once it is committed, remove `pod` (if any), then `then(task state)`."""

        def recorded(result: object) -> None:
            if pod is not None:
                self._remove(pod, outcome, phase)
            if then is not None:
                then(result)

        write(Result(ref, outcome, log_tail), recorded)

    def _remove(self, pod: PodRef, outcome: Outcome, phase: str | None) -> None:
        if pod.uid:
            self.finished.add(pod.uid)  # only once the result is committed: a failed record is retried
        s = self.settings
        action = cleanup_action(
            outcome.state == SUCCESS, phase in TERMINAL_PHASES, s.delete_worker_pods, s.delete_worker_pods_on_failure
        )
        self.cleaner.submit(CleanupJob(pod.namespace, pod.name, pod.uid, action))

    def log_tail(self, where: PodRef, outcome: Outcome, pod: Pod | None) -> str:
        """The failing container's last log lines, read before the pod can be removed (failures only).

        Best effort: the result must not wait on logs.
        """
        if outcome.state != FAILED or pod is None or not outcome.container or outcome.exit_code is None:
            return ""
        try:
            return self.pods.pod_log(where.namespace, where.name, outcome.container)[-LOG_TAIL_CHARS:]
        except Exception:
            return ""
