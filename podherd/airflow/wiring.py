"""Build a `Runtime` for a started `PodherdExecutor`: the Airflow side of every port.

- the `EventSink` is the executor itself (its event buffer and running set);
- `TaskInstances` is db.py over Airflow's ORM, for this executor's task instances only (its alias,
  module path or class name in `task_instance.executor`, or NULL when it is the default executor);
- a taken-over task instance gets a fresh workload (`ExecuteTask.make`, a new token) in case its
  pod was never created;
- `[core] pod_mutation_hook` (airflow_local_settings / policy plugins) runs on every pod when a
  policy defines it, on the V1Pod form the provider passes, before podherd enforces the identity.
"""

from __future__ import annotations

import json
from typing import Any

from podherd.airflow.db import AirflowTaskInstances, ExecutorTasks, alive_scheduler_ids
from podherd.airflow.manifests import Mutate, TaskRun
from podherd.airflow.options import Options
from podherd.airflow.runtime import Runtime, Wiring
from podherd.airflow.workloads import task_run


def executor_tasks(executor: Any) -> ExecutorTasks:
    """The names `task_instance.executor` may give this executor, and whether NULL means it."""
    from airflow.executors.executor_loader import ExecutorLoader

    name = executor.name
    module_path = name.module_path if name is not None else f"{type(executor).__module__}.{type(executor).__name__}"
    names = {module_path, module_path.rsplit(".", 1)[-1], getattr(name, "alias", None) or ""}
    try:
        default = ExecutorLoader.get_default_executor_name()
        is_default = name is None or (default.module_path == module_path and default.alias == name.alias)
    except Exception:
        is_default = True
    return ExecutorTasks(names, is_default)


def workload_maker(executor: Any) -> Any:
    """A task instance (ORM, in its session) -> a `TaskRun` with a new workload, as the scheduler makes them."""
    from airflow.executors.workloads import ExecuteTask

    def make(ti: Any) -> TaskRun:
        return task_run(ExecuteTask.make(ti, generator=executor.jwt_generator))

    return make


def mutation_hook() -> Mutate | None:
    """Airflow's pod_mutation_hook over the pod's JSON form, or None when no policy defines it."""
    from airflow import settings

    if not settings.get_policy_plugin_manager().hook.pod_mutation_hook.get_hookimpls():
        return None
    from kubernetes.client import ApiClient

    client = ApiClient()

    class _Response:  # what ApiClient.deserialize reads
        def __init__(self, data: str) -> None:
            self.data = data

    def mutate(pod: dict[str, Any]) -> dict[str, Any]:
        v1pod = client.deserialize(_Response(json.dumps(pod)), "V1Pod")
        settings.pod_mutation_hook(v1pod)
        return client.sanitize_for_serialization(v1pod)  # type: ignore[no-any-return]

    return mutate


def build_runtime(executor: Any, options: Options, job_id: int, hostname: str) -> Runtime:
    from airflow import __version__ as airflow_version

    tis = AirflowTaskInstances(executor_tasks(executor), options.threshold, workload_maker(executor))
    wiring = Wiring(
        options=options,
        job_id=job_id,
        hostname=hostname,
        airflow_version=airflow_version,
        sink=executor,
        tis=tis,
        alive_query=lambda: alive_scheduler_ids(options.threshold),
        mutate=mutation_hook(),
    )
    return Runtime(wiring)
