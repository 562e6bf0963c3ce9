"""Airflow's `ExecuteTask` workload -> a `TaskRun`: the key, the Task SDK's input, the pod override.

No Airflow import (the workload is read by its attributes), so the unit tests pass small stand-ins.
`executor_config` is read as the provider reads it: `{"pod_override": V1Pod}` (a V1Pod, or its
JSON form as a dict), and `{"pod_template_file": path}` for a per-task template. The provider's
legacy `{"KubernetesExecutor": {...}}` form and anything else are refused with the provider's
message, and the task fails at once (no pod is made).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podherd.airflow.keys import TIKey
from podherd.airflow.manifests import TaskRun

KNOWN_CONFIG = frozenset({"pod_override", "pod_template_file"})


class InvalidExecutorConfig(ValueError):
    """`executor_config` is not something this executor can turn into a pod."""


def task_key(ti: Any) -> TIKey:
    """The attempt of a workload's task instance (or of an ORM TaskInstance): its queue id included."""
    return TIKey(
        dag_id=str(ti.dag_id),
        task_id=str(ti.task_id),
        run_id=str(ti.run_id),
        map_index=int(ti.map_index if ti.map_index is not None else -1),
        try_number=int(ti.try_number),
        queue_id=str(getattr(ti, "external_executor_id", None) or ""),
    )


def pod_override_json(value: Any) -> dict[str, Any] | None:
    """A `pod_override` as the API's JSON: a V1Pod through the client's own serializer, a dict as it is."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return dict(value)
    if type(value).__name__ == "V1Pod":
        from kubernetes.client import ApiClient

        return ApiClient().sanitize_for_serialization(value)  # type: ignore[no-any-return]
    raise InvalidExecutorConfig(
        f"Invalid executor_config passed: pod_override must be a kubernetes.client.models.V1Pod, not {type(value).__name__}"
    )


def task_run(workload: Any) -> TaskRun:
    """Raises `InvalidExecutorConfig` for an `executor_config` the provider would refuse too."""
    ti = workload.ti
    config = ti.executor_config or {}
    if not isinstance(config, Mapping):
        raise InvalidExecutorConfig(f"Invalid executor_config passed: {type(config).__name__}, not a dict")
    unknown = set(config) - KNOWN_CONFIG
    if unknown:
        raise InvalidExecutorConfig(f"Invalid executor_config passed: unsupported keys {sorted(unknown)}")
    template = config.get("pod_template_file")
    return TaskRun(
        key=task_key(ti),
        workload_json=workload.model_dump_json(),
        override=pod_override_json(config.get("pod_override")),
        template_file=str(template) if template else None,
    )
