"""Pure executor policy: attempt bookkeeping, pod requests, and what to do with a finished pod."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from podherd.core.labels import LabelScheme
from podherd.core.podspec import PodRequest, build_pod
from podherd.standalone.db.rows import ClaimedTask

CREATING = "creating"  # the create call has not succeeded yet
LAUNCHED = "launched"  # the pod exists (we know its uid)

DELETE = "delete"
LABEL_DONE = "label-done"
DONE_AT_ANNOTATION = "podherd.io/done-at"


@dataclass
class Attempt:
    """One running attempt as this replica tracks it in memory (the DB holds the truth)."""

    task: ClaimedTask
    started: float  # monotonic time the attempt began (for its timeout)
    phase: str = CREATING
    uid: str | None = None
    running: bool = False
    create_errors: int = 0
    next_create_at: float = 0.0
    creating: bool = False  # a create call is in flight
    maybe_created: bool = False  # a create got an ambiguous answer: the pod may exist
    refusals: int = 0  # creates the API refused outright (not counted against the try)
    last_pod: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.task.namespace, self.task.pod_name)

    def timed_out(self, now: float) -> bool:
        t = self.task.timeout_seconds
        return t is not None and now - self.started > t


def pod_request(task: ClaimedTask) -> PodRequest:
    return PodRequest(
        task_id=task.task_id,
        task_name=task.name,
        try_number=task.try_number,
        owner_id=str(task.owner_id),
        image=task.image,
        command=tuple(task.command),
        args=tuple(task.args),
        env=dict(task.env),
        resources=dict(task.resources),
        namespace=task.namespace,
        labels=dict(task.labels),
        annotations=dict(task.annotations),
        pod_overrides=dict(task.pod_overrides),
    )


def pod_body(task: ClaimedTask, scheme: LabelScheme, template: dict[str, Any] | None) -> dict[str, Any]:
    return build_pod(pod_request(task), scheme, template)


def pod_identity(pod: dict[str, Any], scheme: LabelScheme) -> tuple[int, int] | None:
    """(task id, try number) from a pod's annotations, or None if it is not one of ours."""
    ann = pod.get("metadata", {}).get("annotations") or {}
    try:
        return int(ann[scheme.task_id_annotation]), int(ann[scheme.try_annotation])
    except (KeyError, ValueError, TypeError):
        return None


def cleanup_action(success: bool, pod_terminal: bool, delete_pods: bool, delete_on_failure: bool) -> str:
    """Delete the pod or keep it labelled done (DESIGN §4.5).

    A pod that is not terminal (a fatal waiting reason, a timeout) is always
    deleted: kept, it could still start running. Kept pods are removed by the
    done-pod retention sweep.
    """
    if not pod_terminal:
        return DELETE
    if success:
        return DELETE if delete_pods else LABEL_DONE
    return DELETE if delete_pods and delete_on_failure else LABEL_DONE


def done_patch(scheme: LabelScheme, owner_id: str, done_at: str) -> list[dict[str, Any]]:
    """Label a pod done only if we still own it: a `test` op makes the write conditional."""
    owner_path = "/metadata/labels/" + scheme.owner_key.replace("~", "~0").replace("/", "~1")
    done_path = "/metadata/labels/" + scheme.done_key.replace("~", "~0").replace("/", "~1")
    ann_path = "/metadata/annotations"
    return [
        {"op": "test", "path": owner_path, "value": owner_id},
        {"op": "add", "path": done_path, "value": scheme.done_value},
        {"op": "add", "path": ann_path + "/" + DONE_AT_ANNOTATION.replace("/", "~1"), "value": done_at},
    ]
