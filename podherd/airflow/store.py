"""The core's `TaskStore` and `ResultGate` over Airflow: results go to the executor's event buffer.

Airflow owns the task instance rows; an executor reports outcomes through its event buffer, which
the scheduler drains and commits after each `sync()` (`process_executor_events`). So `record`
only puts the event in the buffer, and the pod must wait: the core keeps it (`results.waiting`)
until `durable` says the task instance row has the result, or has moved on (another try, another
queueing, a terminal state). That is DESIGN §4.4 inside Airflow: the outcome is committed by the
scheduler before the pod is deleted or labelled done.

`durable` also repairs what the scheduler did not commit (pure decision in `verdict`):
- our event was drained but the row did not move on (a row lock skipped it): emit it again;
- the row belongs to a dead scheduler (a completed pod claimed from it): take the row over with a
  conditional UPDATE, then emit, so our scheduler commits it;
- the row belongs to a live scheduler (it adopted the task while we still ran its pod): hand the
  pod over with a compare-and-swap of its owner label, so that scheduler records and removes it.

The database is reached through `TaskInstances` (db.py), the executor's buffer through
`EventSink` (executor.py): both small, so the unit tests use dict-backed fakes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from podherd.airflow.keys import SCHEME, TIKey
from podherd.airflow.manifests import TaskRun
from podherd.core.ha.planner import claim_patch
from podherd.core.kube.errors import Conflict, Invalid, NotFound
from podherd.core.podstatus import SUCCESS, Outcome
from podherd.core.ports import AttemptRef, Durability, Launch, MissingPod, PodAPI, PodRef, StoreOp, apply_each

log = logging.getLogger("podherd.airflow")

UNFINISHED = frozenset({"queued", "running", "restarting"})  # Airflow's adoptable states
TI = tuple[str, str, str, int]  # (dag_id, task_id, run_id, map_index)
FoundPods = Mapping[tuple[TI, int], Sequence[tuple[AttemptRef, PodRef]]]  # (ti, try) -> pods found for it


@dataclass(frozen=True)
class TIRow:
    """A task instance row as the gate needs it: its current try and queueing, state and owner."""

    key: TIKey  # try_number and queue_id as the row has them now
    state: str | None
    owner: int | None  # queued_by_job_id


class TaskInstances(Protocol):
    """Airflow's task_instance table, as this executor uses it (db.py)."""

    def rows(self, tis: Sequence[TI]) -> dict[TI, TIRow]: ...

    def owners_with_work(self) -> set[int]:
        """Schedulers whose job row is not alive and that still own unfinished task instances of this executor."""

    def take_over(self, dead: int, me: int) -> list[TaskRun]:
        """Move `dead`'s unfinished task instances to `me` (conditional, rows locked, skip-locked); new workloads."""

    def claim_row(self, row: TIRow, me: int) -> bool:
        """Conditionally make one task instance `me`'s: owner, try, queueing and state as in `row`."""


class EventSink(Protocol):
    """The executor's side: its event buffer and its running set (executor.py)."""

    def finished(self, key: TIKey, success: bool, info: str | None) -> None:
        """The attempt's pod finished. `info` None: no event (the task instance moved on to another attempt);
        either way the executor stops counting the attempt as running, unless a newer queueing of the same
        try runs under the same TaskInstanceKey."""

    def pending(self, key: TIKey) -> bool:
        """The key's event still waits in the event buffer (the scheduler has not drained it)."""

    def requeue(self, key: TIKey) -> bool:
        """Give the workload back to the executor's queue, uncounted; False if it is not known."""

    def adopted(self, key: TIKey) -> None: ...


class Verdict(StrEnum):
    DURABLE = "durable"
    PENDING = "pending"
    EMIT_AGAIN = "emit-again"
    TAKE_OVER = "take-over"
    HAND_OVER = "hand-over"


def moved_on(row: TIRow | None, key: TIKey) -> bool:
    """The task instance no longer waits for this attempt's result: the result is in, or it is another attempt's."""
    return row is None or not row.key.same_attempt(key) or row.state not in UNFINISHED


def verdict(row: TIRow | None, key: TIKey, me: int, alive: set[int] | None, pending: bool) -> Verdict:
    """What to do about a recorded attempt whose pod waits (pure; module docstring)."""
    if moved_on(row, key):
        return Verdict.DURABLE
    assert row is not None
    if row.owner == me:
        return Verdict.PENDING if pending else Verdict.EMIT_AGAIN
    if alive is None:
        return Verdict.PENDING  # cannot tell whether its owner lives: touch nothing
    if row.owner is None or row.owner not in alive:
        return Verdict.TAKE_OVER
    return Verdict.HAND_OVER


def describe(outcome: Outcome, log_tail: str = "") -> str:
    """The event's info: the scheduler logs it and, for a task that never reported, writes it to the `log` table."""
    if outcome.state == SUCCESS:
        return "pod succeeded"
    parts = [f"pod failed: {outcome.reason or 'unknown reason'}"]
    if outcome.exit_code is not None:
        parts.append(f"exit_code: {outcome.exit_code}")
    if outcome.message:
        parts.append(outcome.message)
    if outcome.container:
        parts.append(f"container: {outcome.container}")
    text = "; ".join(parts)
    return f"{text}\n{log_tail[-1000:]}" if log_tail else text


class EventBufferStore:
    """`TaskStore` + `ResultGate` of one scheduler (`owner` = its SchedulerJob id)."""

    def __init__(
        self,
        sink: EventSink,
        tis: TaskInstances,
        owner: int,
        pods: PodAPI,
        alive: Callable[[], set[int] | None],
        find_pods: Callable[[int], FoundPods],
        launch_of: Callable[[TaskRun, tuple[AttemptRef, PodRef] | None], Launch],
    ) -> None:
        """`alive`: the sweeper's last alive set; `find_pods(owner)`: that scheduler's pods by task instance try
        (listed, so the provider's randomly named pods are found too); `launch_of`: a workload -> its `Launch`."""
        self.sink = sink
        self.tis = tis
        self.owner = owner
        self.pods = pods
        self.alive = alive
        self.find_pods = find_pods
        self.launch_of = launch_of
        self.events: dict[AttemptRef, tuple[bool, str]] = {}  # recorded, not yet durable: to emit again
        self.handed_over = 0

    # ---- TaskStore ------------------------------------------------------------------------------
    def record_launched(self, ref: AttemptRef, uid: str) -> bool:
        return True  # Airflow keeps no pod uid: the deterministic name finds the pod again

    def record_running(self, ref: AttemptRef) -> bool:
        return True  # the Task SDK sets RUNNING itself, through the execution API

    def apply(self, ops: Sequence[StoreOp]) -> list[object]:
        """One write at a time: the scheduler commits the event buffer after `sync()`, not us."""
        return apply_each(self, ops)

    def record(self, ref: AttemptRef, outcome: Outcome, log_tail: str = "") -> str:
        """An event for the scheduler, if the task instance is still at this attempt.

        A resumed deferral, a rescheduled sensor poke and a requeue run the same try again under the
        same TaskInstanceKey: the first pod's exit must not be read as the new run's end (the
        scheduler would fail the task instance "killed externally"). So the row is read first; a
        result of an earlier attempt is dropped (its pod is then removed at once: `durable`).
        """
        key = TIKey.from_ref(ref)
        if key is None:
            return "not a task instance"
        row = self.tis.rows([key.ti]).get(key.ti)
        success = outcome.state == SUCCESS
        if row is None or not row.key.same_attempt(key):
            self.sink.finished(key, success, None)
            return "an earlier attempt's: the task instance moved on"
        info = describe(outcome, log_tail)
        if not success:
            log.warning("%s failed in its pod: %s", key, info.splitlines()[0])
        self.events[ref] = (success, info)
        self.sink.finished(key, success, info)
        return "success" if success else "failed"

    def release(self, ref: AttemptRef) -> bool:
        key = TIKey.from_ref(ref)
        return key is not None and self.sink.requeue(key)

    def decide_missing_pod(self, ref: AttemptRef) -> MissingPod:
        """Asked when a taken-over attempt's pod is gone: by the task instance row as it is now."""
        key = TIKey.from_ref(ref)
        if key is None:
            return MissingPod.SETTLED
        row = self.tis.rows([key.ti]).get(key.ti)
        if moved_on(row, key):
            return MissingPod.SETTLED
        assert row is not None
        alive = self.alive()
        if row.owner not in (self.owner, None) and (alive is None or row.owner in alive):
            return MissingPod.SETTLED  # a live scheduler's task instance now
        # Never launched: the scheduler queued it and died before creating its pod (the pod of a
        # launched, unfinished try is deleted by nobody: result before removal). Launched: lost.
        return MissingPod.RELAUNCH if row.state == "queued" else MissingPod.LOST

    def dead_owners_with_work(self) -> set[int]:
        return self.tis.owners_with_work()

    def take_over(self, dead_owner: int) -> list[Launch]:
        """List the dead scheduler's pods first (an API error leaves its rows alone), then take its rows."""
        found = self.find_pods(dead_owner)
        runs = self.tis.take_over(dead_owner, self.owner)
        launches = []
        for run in runs:
            launch = self.launch_of(run, pod_for(run.key, found))
            self.sink.adopted(TIKey.from_ref(launch.ref) or run.key)
            launches.append(launch)
        return launches

    # ---- ResultGate -----------------------------------------------------------------------------
    def durable(self, waiting: Sequence[tuple[AttemptRef, PodRef]]) -> dict[PodRef, Durability]:
        keyed = [(TIKey.from_ref(ref), ref, pod) for ref, pod in waiting]
        waiting_refs = {ref for ref, _pod in waiting}
        self.events = {r: e for r, e in self.events.items() if r in waiting_refs}  # no pod waits: nothing to resend
        rows = self.tis.rows(sorted({k.ti for k, _r, _p in keyed if k is not None}))
        alive = self.alive()
        answers: dict[PodRef, Durability] = {}
        for key, ref, pod in keyed:
            if key is None:
                answers[pod] = Durability.DURABLE
                continue
            row = rows.get(key.ti)
            answers[pod] = self._act(verdict(row, key, self.owner, alive, self.sink.pending(key)), row, key, ref, pod)
            if answers[pod] != Durability.PENDING:
                self.events.pop(ref, None)
        return answers

    def _act(self, v: Verdict, row: TIRow | None, key: TIKey, ref: AttemptRef, pod: PodRef) -> Durability:
        if v == Verdict.DURABLE:
            return Durability.DURABLE
        if v == Verdict.EMIT_AGAIN or (
            v == Verdict.TAKE_OVER and row is not None and self.tis.claim_row(row, self.owner)
        ):
            success, info = self.events.get(ref, (False, "pod result"))
            self.sink.finished(key, success, info)
        elif v == Verdict.HAND_OVER and row is not None and row.owner is not None:
            return self._hand_over(pod, row.owner, key)
        return Durability.PENDING

    def _hand_over(self, pod: PodRef, owner: int, key: TIKey) -> Durability:
        """The task instance is a live scheduler's: relabel our pod to it (CAS), it records and removes it."""
        try:
            self.pods.json_patch_pod(pod.namespace, pod.name, claim_patch(SCHEME, str(self.owner), str(owner)))
        except (NotFound, Conflict, Invalid):
            return Durability.RELEASED  # gone, or not ours any more
        except Exception as e:
            log.info("handing pod %s to scheduler %s failed (%s); retrying", pod.name, owner, type(e).__name__)
            return Durability.PENDING
        self.handed_over += 1
        log.warning("%s belongs to scheduler %s now: pod %s handed over to it", key, owner, pod.name)
        return Durability.RELEASED


def pod_for(key: TIKey, found: FoundPods) -> tuple[AttemptRef, PodRef] | None:
    """The listed pod of this attempt: same queueing first, else one without a queue id (the provider's)."""
    candidates = found.get((key.ti, key.try_number)) or ()
    for ref, pod in candidates:
        other = TIKey.from_ref(ref)
        if other is not None and other.queue_id == key.queue_id:
            return ref, pod
    for ref, pod in candidates:
        other = TIKey.from_ref(ref)
        if other is not None and other.same_attempt(key):
            return ref, pod
    return None
