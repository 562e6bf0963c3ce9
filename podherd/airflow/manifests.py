"""An Airflow workload as the core's executor takes it: a `Launch` with the pod manifest.

Pure: no Airflow import, no I/O (the pod template is read by the caller). The manifest is built
like the provider's `PodGenerator.construct_pod`, in the same three layers:

    pod template (per task `executor_config["pod_template_file"]`, else `[kubernetes_executor]`)
      <- the generated pod: container `base`, args = the Task SDK command, image
         `worker_container_repository:worker_container_tag` when set, the provider's labels
         and annotations, env AIRFLOW_IS_K8S_EXECUTOR_POD=True
      <- `executor_config["pod_override"]` (a V1Pod, as JSON)

with core.podspec's merge (containers, env, volumes... merge by name; the provider merges
containers by index and concatenates env lists, which duplicates variables), then
`podspec.finalize`: the deterministic name, namespace, identity labels and annotations and
restartPolicy Never win over anything a template or override says. Unlike the standalone
front-end, the service-account token is left as the template says: tasks that start
KubernetesPodOperator pods need it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from podherd.airflow.keys import SCHEME, TIKey, pod_annotations, pod_labels, pod_name
from podherd.core.podspec import BASE_CONTAINER, deep_merge, finalize
from podherd.core.ports import AttemptRef, Launch, PodRef

Mutate = Callable[[dict[str, Any]], dict[str, Any]]  # Airflow's pod_mutation_hook, over the JSON form
TASK_SDK_MODULE = "airflow.sdk.execution_time.execute_workload"
K8S_POD_ENV = {"name": "AIRFLOW_IS_K8S_EXECUTOR_POD", "value": "True"}


@dataclass(frozen=True)
class TaskRun:
    """One queueing of one task instance try, as the executor gets it (from an `ExecuteTask` workload)."""

    key: TIKey
    workload_json: str  # the workload as the pod's Task SDK reads it
    override: Mapping[str, Any] | None = None  # `executor_config["pod_override"]` as JSON
    template_file: str | None = None  # `executor_config["pod_template_file"]`


@dataclass(frozen=True)
class PodSettings:
    """What every pod of one executor shares."""

    namespace: str
    kube_image: str | None  # `worker_container_repository:worker_container_tag`, or None: the template's
    airflow_version: str


def command_args(workload_json: str) -> list[str]:
    """The container's args: the Task SDK runs the workload (the provider's `workload_to_command_args`)."""
    return ["python", "-m", TASK_SDK_MODULE, "--json-string", workload_json]


def _override_namespace(override: Mapping[str, Any] | None) -> str | None:
    meta = (override or {}).get("metadata")
    namespace = meta.get("namespace") if isinstance(meta, Mapping) else None
    return namespace if isinstance(namespace, str) and namespace else None


def namespace_of(run: TaskRun, settings: PodSettings) -> str:
    """The pod's namespace: the override's (multi-namespace deployments), else `[kubernetes_executor] namespace`."""
    return _override_namespace(run.override) or settings.namespace


def generated_pod(run: TaskRun, owner: int, settings: PodSettings) -> dict[str, Any]:
    container: dict[str, Any] = {"name": BASE_CONTAINER, "args": command_args(run.workload_json), "env": [K8S_POD_ENV]}
    if settings.kube_image:
        container["image"] = settings.kube_image
    return {
        "metadata": {
            "labels": pod_labels(run.key, owner, settings.airflow_version),
            "annotations": pod_annotations(run.key),
        },
        "spec": {"containers": [container]},
    }


def build_manifest(
    run: TaskRun,
    owner: int,
    settings: PodSettings,
    template: Mapping[str, Any] | None,
    name: str | None = None,
    mutate: Mutate | None = None,
) -> dict[str, Any]:
    """template <- generated <- override, then `mutate` (the cluster policy), then the attempt's identity
    enforced (module docstring): a policy may add sidecars or labels, not rename or disown the pod."""
    pod = deep_merge(template or {}, generated_pod(run, owner, settings))
    if run.override:
        pod = deep_merge(pod, run.override)
    if mutate is not None:
        pod = mutate(pod)
    labels = pod_labels(run.key, owner, settings.airflow_version)
    return finalize(
        pod, name or pod_name(run.key), namespace_of(run, settings), labels, pod_annotations(run.key), SCHEME
    )


def launch_of(
    run: TaskRun,
    owner: int,
    settings: PodSettings,
    template: Mapping[str, Any] | None,
    existing: tuple[AttemptRef, PodRef] | None = None,
    mutate: Mutate | None = None,
) -> Launch:
    """The attempt for the core's executor. `existing`: its pod found already (a taken-over attempt,
    maybe the provider's pod with a random name): follow that pod, under the identity it carries."""
    where = None
    if existing is not None:
        found = TIKey.from_ref(existing[0])
        where = existing[1]
        if found is not None:  # same try of the same task instance; the queue id the pod carries
            run = replace(run, key=found)
    manifest = build_manifest(run, owner, settings, template, where.name if where else None, mutate)
    pod = where or PodRef(manifest["metadata"]["namespace"], manifest["metadata"]["name"])
    return Launch(ref=run.key.ref, name=run.key.name, pod=pod, manifest=manifest)
