"""Result before removal (DESIGN §4.4): commit an attempt's outcome, then remove its pod — the one path.

Every finished attempt goes through `Results.finish`, whether this replica ran it, took it over
from a dead replica, or found it left over: the task store records the outcome (idempotently,
durably), and only then is the pod deleted (uid precondition) or labelled done. If the store
raises, nothing is removed and the caller keeps what it was handling for the next loop.

A front-end whose `record` is committed later (Airflow: the scheduler commits the event buffer
after each sync) passes a `ResultGate`: the cleanup then waits in `waiting` until the gate says
the result is durable, and `release_waiting` (called every sync) submits it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podherd.core.executor.attempts import cleanup_action
from podherd.core.executor.cleanup import Cleaner, CleanupJob
from podherd.core.executor.recent import RecentSet
from podherd.core.executor.settings import ExecutorSettings
from podherd.core.podstatus import FAILED, SUCCESS, TERMINAL_PHASES, Outcome
from podherd.core.ports import AttemptRef, Durability, Pod, PodAPI, PodRef, Result, ResultGate, StoreOp, TaskStore

LOG_TAIL_CHARS = 4000
Then = Callable[[Any], None]
Write = Callable[[StoreOp, Then | None], None]


class Results:
    def __init__(
        self,
        store: TaskStore,
        pods: PodAPI,
        cleaner: Cleaner,
        settings: ExecutorSettings,
        gate: ResultGate | None = None,
    ) -> None:
        self.store = store
        self.pods = pods
        self.cleaner = cleaner
        self.settings = settings
        self.gate = gate
        self.finished = RecentSet(10_000)  # uids finished here lately (a claim's answer, then its watch event)
        self.waiting: dict[PodRef, tuple[AttemptRef, CleanupJob]] = {}  # recorded, not yet durable (gate)

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
                self._remove(ref, pod, outcome, phase)
            if then is not None:
                then(result)

        write(Result(ref, outcome, log_tail), recorded)

    def _remove(self, ref: AttemptRef, pod: PodRef, outcome: Outcome, phase: str | None) -> None:
        if pod.uid:
            self.finished.add(pod.uid)  # only once the result is committed: a failed record is retried
        s = self.settings
        action = cleanup_action(
            outcome.state == SUCCESS, phase in TERMINAL_PHASES, s.delete_worker_pods, s.delete_worker_pods_on_failure
        )
        job = CleanupJob(pod.namespace, pod.name, pod.uid, action)
        if self.gate is None:
            self.cleaner.submit(job)
        else:
            self.waiting[pod] = (ref, job)

    def release_waiting(self) -> int:
        """Clean up the waiting pods whose results the gate now says are durable; returns how many."""
        if self.gate is None or not self.waiting:
            return 0
        answers = self.gate.durable([(ref, pod) for pod, (ref, _job) in self.waiting.items()])
        n = 0
        for pod, answer in answers.items():
            if answer == Durability.PENDING or pod not in self.waiting:
                continue
            _ref, job = self.waiting.pop(pod)
            if answer == Durability.DURABLE:
                self.cleaner.submit(job)
                n += 1
        return n

    def waiting_on(self, uid: str) -> bool:
        """A pod of this uid waits for its result to become durable (not a leftover)."""
        return any(pod.uid == uid for pod in self.waiting)

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
