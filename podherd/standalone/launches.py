"""A claimed task as the core's executor takes it: a `Launch` with its pod manifest and the attempt's identity.

The standalone front-end builds each pod from its task row with `core.podspec` (template <-
generated pod <- the task's `pod_overrides`); the Airflow front-end builds its own from the
workload and pod template. Either way the executor gets a `Launch` and never sees a task row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podherd.core.labels import LabelScheme
from podherd.core.podspec import build_pod
from podherd.core.ports import AttemptRef, Launch, PodRef
from podherd.standalone.db.models import AttemptState
from podherd.standalone.db.rows import ClaimedTask


def attempt_ref(task_id: int, try_number: int) -> AttemptRef:
    """The standalone scheduler's attempt identity: the task id as text."""
    return AttemptRef(str(task_id), try_number)


def task_id_of(ref: AttemptRef) -> int | None:
    """The task id back from an identity; None for a key that is not one of ours (not a decimal id)."""
    return int(ref.key) if ref.key.isdecimal() else None


def launch_of(task: ClaimedTask, scheme: LabelScheme, template: Mapping[str, Any] | None) -> Launch:
    """A claimed (or taken-over) task's current attempt, with the manifest of its pod."""
    manifest = build_pod(task.spec.pod_request(task.task_id, task.try_number, task.owner_id), scheme, template)
    return Launch(
        ref=attempt_ref(task.task_id, task.try_number),
        name=task.name,
        pod=PodRef(task.namespace, task.pod_name, task.pod_uid),
        manifest=manifest,
        timeout_seconds=task.spec.timeout,
        started_at=task.attempt_started_at,
        launched=task.attempt_state != AttemptState.LAUNCHING or bool(task.pod_uid),
    )
