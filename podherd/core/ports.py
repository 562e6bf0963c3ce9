"""The small interfaces between deciding and doing: all the core needs from the world outside it.

Modelled on client-go's `resourcelock.Interface`: each decision loop (executor, sweeper, liveness)
reaches the cluster, the task store and the replica registry only through these Protocols, so a
unit test hands it in-memory fakes (tests/unit/fakes.py) and the two front-ends plug in their own:

| port        | what it is                                           | implemented by                                   |
|-------------|------------------------------------------------------|--------------------------------------------------|
| PodAPI      | create/get/delete (uid precondition)/patch/list/watch/log pods | `core.kube.client.KubeClient`          |
| LeaseAPI    | get/create/replace/list/delete Leases                | `core.kube.client.KubeClient`                    |
| TaskStore   | record launched/running/result, release, take over   | `standalone.store.DbTaskStore`, `airflow.store.EventBufferStore` |
| AliveSource | who else is alive, or None when nobody can tell      | `standalone.alive.JobTable`, `airflow.alive.SchedulerJobs`, `core.ha.liveness.Liveness` |
| Executor    | where the sweeper hands taken-over work              | `core.executor.executor.KubernetesExecutor`      |
| ResultGate  | optional: when a recorded result is durable          | `airflow.store.EventBufferStore` (Airflow only)  |
| Clock       | monotonic seconds                                    | `time.monotonic`                                 |

The values crossing them are plain and frozen: `AttemptRef` (which try of which task: a front-end
key, `str(task id)` for the standalone scheduler, a task-instance key for Airflow), `PodRef`, and
`Launch` (an attempt with the pod manifest its front-end built).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from podherd.core.podstatus import Outcome

Pod = dict[str, Any]  # a pod (or any object) as the API's JSON
Lease = dict[str, Any]
PatchOp = dict[str, Any]  # one RFC 6902 operation
Clock = Callable[[], float]  # monotonic seconds


@dataclass(frozen=True, order=True)
class AttemptRef:
    """One try of one task, as its front-end names it; read back from a pod by `LabelScheme.identity`."""

    key: str
    try_number: int

    def __str__(self) -> str:
        return f"{self.key} try {self.try_number}"


@dataclass(frozen=True)
class PodRef:
    """Where a pod is, and which incarnation (uid) when known: deletes carry it as a precondition."""

    namespace: str
    name: str
    uid: str | None = None


@dataclass(frozen=True)
class Launch:
    """An attempt for the executor to run or to follow, with the manifest its front-end built."""

    ref: AttemptRef
    name: str  # for people: log lines name the task by it
    pod: PodRef  # the deterministic pod name; a uid when the front-end recorded one
    manifest: Pod = field(repr=False)
    timeout_seconds: float | None = None
    started_at: datetime | None = None  # when the attempt began, if before now (taken over, restarted)
    launched: bool = False  # a create may have succeeded already: follow the pod, do not create it blindly


class MissingPod(StrEnum):
    """What a new owner may do about an attempt whose pod it could not find (`TaskStore.decide_missing_pod`)."""

    RELAUNCH = "relaunch"  # never launched, and ours: create its pod now
    LOST = "lost"  # launched, and its pod is gone: record the try lost
    SETTLED = "settled"  # someone else recorded it, or the task moved on: nothing to do


class PodAPI(Protocol):
    """The pod calls. Errors are `kube.errors` kinds (`NotFound`, `Conflict`, `Invalid`, ...) or transport errors."""

    def create_pod(self, namespace: str, body: Pod) -> Pod: ...

    def get_pod(self, namespace: str, name: str) -> Pod: ...

    def delete_pod(self, namespace: str, name: str, uid: str | None = None, grace_seconds: int | None = None) -> None:
        """With `uid`, only that incarnation is deleted (a recreated pod of the same name is safe)."""

    def json_patch_pod(self, namespace: str, name: str, ops: list[PatchOp]) -> Pod:
        """With a `test` op first it is a compare-and-swap: the loser gets `Invalid` (422) or `Conflict`."""

    def merge_patch_pod(self, namespace: str, name: str, patch: Pod) -> Pod: ...

    def list_pods(
        self,
        namespace: str,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 500,
        metadata_only: bool = False,
    ) -> tuple[list[Pod], str]:
        """All matching pods and the list's resourceVersion."""

    def watch_pods(
        self, namespace: str, label_selector: str, resource_version: str, timeout_seconds: int, read_timeout: float
    ) -> Iterator[Pod]:
        """Raw watch events (`{"type", "object"}`) until the server ends the watch."""

    def pod_log(self, namespace: str, name: str, container: str, tail_lines: int = 20) -> str: ...


class LeaseAPI(Protocol):
    """The coordination.k8s.io Lease calls liveness needs."""

    def get_lease(self, namespace: str, name: str) -> Lease: ...

    def create_lease(self, namespace: str, body: Lease) -> Lease: ...

    def replace_lease(self, namespace: str, name: str, body: Lease) -> Lease: ...

    def list_leases(self, namespace: str, label_selector: str = "") -> list[Lease]: ...

    def delete_lease(self, namespace: str, name: str) -> None: ...


@dataclass(frozen=True)
class Launched:
    """`TaskStore.record_launched` as a value, for `TaskStore.apply`."""

    ref: AttemptRef
    uid: str


@dataclass(frozen=True)
class Running:
    """`TaskStore.record_running` as a value."""

    ref: AttemptRef


@dataclass(frozen=True)
class Result:
    """`TaskStore.record` as a value."""

    ref: AttemptRef
    outcome: Outcome
    log_tail: str = ""


@dataclass(frozen=True)
class Release:
    """`TaskStore.release` as a value."""

    ref: AttemptRef


StoreOp = Launched | Running | Result | Release


class TaskStore(Protocol):
    """Where attempts' progress and results are recorded, for one owner (the replica it was built for).

    Every write is conditional and idempotent: it restates the state it expects, so a replay, a
    second recorder or a stale owner changes nothing. `record` must be durable when it returns:
    the executor removes the pod only after it (result before removal, DESIGN §4.4).
    """

    def record_launched(self, ref: AttemptRef, uid: str) -> bool:
        """The pod exists with this uid (a later delete carries it)."""

    def record_running(self, ref: AttemptRef) -> bool:
        """The pod runs; never moves an attempt backwards."""

    def record(self, ref: AttemptRef, outcome: Outcome, log_tail: str = "") -> str:
        """Commit a terminal outcome once; returns what became of the task (for the log)."""

    def release(self, ref: AttemptRef) -> bool:
        """Hand the try back uncounted (its pod surely does not exist); False if the task moved on."""

    def decide_missing_pod(self, ref: AttemptRef) -> MissingPod:
        """Asked at the moment a taken-over attempt's pod is found missing, never from a snapshot."""

    def dead_owners_with_work(self) -> set[int]:
        """Owners that are not alive but still own unfinished attempts."""

    def take_over(self, dead_owner: int) -> list[Launch]:
        """Move a dead owner's unfinished attempts to this owner; each goes to exactly one survivor."""

    def apply(self, ops: Sequence[StoreOp]) -> list[object]:
        """Make these writes in order as one durable commit (all or none); returns each one's answer,
        as its single method would. The executor groups a loop's writes this way: one transaction
        per loop instead of one per event. `apply_each` serves a store that cannot group."""


def apply_each(store: TaskStore, ops: Sequence[StoreOp]) -> list[object]:
    """`TaskStore.apply` one write at a time (not atomic): for stores with no transactions to group."""
    answers: list[object] = []
    for op in ops:
        if isinstance(op, Launched):
            answers.append(store.record_launched(op.ref, op.uid))
        elif isinstance(op, Running):
            answers.append(store.record_running(op.ref))
        elif isinstance(op, Result):
            answers.append(store.record(op.ref, op.outcome, op.log_tail))
        else:
            answers.append(store.release(op.ref))
    return answers


class Durability(StrEnum):
    """What a `ResultGate` says of a finished pod whose result was handed to `TaskStore.record`."""

    DURABLE = "durable"  # committed (or the task moved on): remove the pod now
    PENDING = "pending"  # not yet: keep the pod, ask again at the next sync
    RELEASED = "released"  # no longer this owner's to remove (handed to the task's owner): forget it


class ResultGate(Protocol):
    """For a front-end whose `record` is committed later by someone else.

    Airflow's scheduler commits its executor's event buffer after each `sync()`: when `record`
    returns, the result is only in memory. With a gate, the executor keeps a finished pod until
    the gate says its result is durable (result before removal, DESIGN §4.4); without one,
    `record` itself is durable (the standalone scheduler).
    """

    def durable(self, waiting: Sequence[tuple[AttemptRef, PodRef]]) -> Mapping[PodRef, Durability]:
        """Asked once per sync with every pod still waiting; a pod left out of the answer stays PENDING."""


class AliveSource(Protocol):
    """Who else is alive. None means "cannot tell now": skip the sweep, never assume they are dead."""

    def alive_siblings(self) -> set[int] | None: ...


class Executor(Protocol):
    """What the sweeper hands taken-over work to."""

    def launch(self, work: Sequence[Launch], pods: Mapping[str, Pod] | None = None) -> None:
        """Follow these attempts; `pods` (by name) already exist and are now ours, the rest are created."""

    def record_lost(self, work: Launch) -> None:
        """A taken-over attempt whose pod is gone: the try counts as failed ("pod lost")."""

    def finish_pod(self, pod: Pod, namespace: str, again: bool = False) -> bool:
        """A terminal pod now ours that no attempt follows: record its result, then remove it."""
