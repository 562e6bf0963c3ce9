"""Pure executor policy: an attempt as the executor tracks it, what a failed create means, what a finished pod gets.

No I/O: the executor asks these functions and then acts, so each rule has a unit test of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from podherd.core.kube.classify import ALREADY_EXISTS, ErrorClass, backoff_delay
from podherd.core.labels import LabelScheme, json_pointer, label_pointer
from podherd.core.podstatus import FAILED, Outcome
from podherd.core.ports import AttemptRef, Launch, PatchOp, Pod, PodRef

DONE_AT_ANNOTATION = "podherd.io/done-at"


class CleanupAction(StrEnum):
    """What happens to a pod once its result is recorded."""

    DELETE = "delete"
    LABEL_DONE = "label-done"


class CreateStep(StrEnum):
    """What a failed create call means for its attempt (`after_create_error`)."""

    EXISTS = "exists"  # 409 AlreadyExists: the pod was launched already; read it and follow it
    RETRY = "retry"  # transient: create again at `next_create_at`
    WAIT = "wait"  # refused, but an earlier answer was ambiguous: keep the try and wait for the API
    HAND_BACK = "hand-back"  # refused before anything happened: give the try back uncounted
    FAIL = "fail"  # permanent, or out of retries: the try fails


@dataclass
class Attempt:
    """One attempt as this replica tracks it in memory (the task store holds the truth)."""

    work: Launch
    started: float  # monotonic time the attempt began (for its timeout)
    launched: bool = False  # the pod exists, or may: follow it rather than create it
    uid: str | None = None
    running: bool = False
    create_errors: int = 0
    next_create_at: float = 0.0
    creating: bool = False  # a create call is in flight
    maybe_created: bool = False  # a create got an ambiguous answer: the pod may exist
    refusals: int = 0  # creates the API refused outright (not counted against the try)
    last_pod: Pod | None = field(default=None, repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.work.pod.namespace, self.work.pod.name)

    @property
    def ref(self) -> AttemptRef:
        return self.work.ref

    def timed_out(self, now: float) -> bool:
        t = self.work.timeout_seconds
        return t is not None and now - self.started > t

    def never_created(self) -> bool:
        """Surely no pod: no create succeeded, none is in doubt, and none was recorded."""
        return not self.launched and not self.uid and not self.maybe_created

    def pod_ref(self) -> PodRef | None:
        """The pod to clean up once the result is recorded; None when no pod can exist."""
        return PodRef(*self.key, self.uid) if self.launched or self.uid else None


def after_create_error(att: Attempt, err: ErrorClass, refused: bool, max_retries: int, now: float) -> CreateStep:
    """Decide what a failed create means, updating the attempt's retry bookkeeping.

    A refusal (connection, TLS, 401, RBAC 403) did nothing on the server: the try goes back
    uncounted unless an earlier answer left the pod in doubt, in which case the try is kept and
    the create is repeated once the API answers (never burnt). A 409 AlreadyExists means
    "already launched" (names are deterministic). A transient error may come after the server
    created the pod, so it marks the pod as in doubt, then retries with backoff up to `max_retries`.
    """
    if refused:
        if not att.maybe_created:
            return CreateStep.HAND_BACK
        att.refusals += 1
        att.next_create_at = now + backoff_delay(att.refusals, base=1.0, cap=30.0)
        return CreateStep.WAIT
    if err.kind == ALREADY_EXISTS:
        return CreateStep.EXISTS
    if err.transient:
        att.maybe_created = True
        if att.create_errors < max_retries:
            att.create_errors += 1
            att.next_create_at = now + max(err.retry_after or 0.0, backoff_delay(att.create_errors))
            return CreateStep.RETRY
    return CreateStep.FAIL


def create_failed(err: ErrorClass) -> Outcome:
    """The outcome of a try whose pod could not be created, with the API's reason and message."""
    reason = f"pod create failed: {err.reason}" if err.reason else "pod create failed"
    return Outcome(FAILED, reason=reason, message=err.message)


def cleanup_action(success: bool, pod_terminal: bool, delete_pods: bool, delete_on_failure: bool) -> CleanupAction:
    """Delete the pod or keep it labelled done (DESIGN §4.5).

    A pod that is not terminal (a fatal waiting reason, a timeout) is always
    deleted: kept, it could still start running. Kept pods are removed by the
    done-pod retention sweep.
    """
    if not pod_terminal:
        return CleanupAction.DELETE
    if success:
        return CleanupAction.DELETE if delete_pods else CleanupAction.LABEL_DONE
    return CleanupAction.DELETE if delete_pods and delete_on_failure else CleanupAction.LABEL_DONE


def done_patch(scheme: LabelScheme, owner_id: str, done_at: str) -> list[PatchOp]:
    """Label a pod done only if we still own it: a `test` op makes the write conditional."""
    return [
        {"op": "test", "path": label_pointer(scheme.owner_key), "value": owner_id},
        {"op": "add", "path": label_pointer(scheme.done_key), "value": scheme.done_value},
        {"op": "add", "path": json_pointer("metadata", "annotations", DONE_AT_ANNOTATION), "value": done_at},
    ]
