"""The Airflow front-end's pure decisions: keys and pod names, workload -> Launch, options. No Airflow, no I/O."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client import models as k8s

from podherd.airflow.keys import SCHEME, TIKey, pod_annotations, pod_labels, pod_name, ti_selector
from podherd.airflow.manifests import PodSettings, TaskRun, build_manifest, launch_of
from podherd.airflow.options import OptionError, read_options
from podherd.airflow.workloads import InvalidExecutorConfig, task_run
from podherd.core.ha.liveness import Mode
from podherd.core.ha.planner import Policy
from podherd.core.labels import make_safe_label_value
from podherd.core.ports import PodRef

DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
RUN = "manual__2026-11-26T10:00:00.123456+00:00"
KEY = TIKey("my_dag", "my_task", RUN, -1, 1, "0196f3b2-aaaa-7bbb-8ccc-000000000001")
SETTINGS = PodSettings("airflow", None, "3.3.2")


# ---- keys and names -------------------------------------------------------------------------------------


def test_a_key_round_trips_through_the_pods_annotations() -> None:
    for key in (KEY, TIKey("d", "t", RUN, 7, 3, ""), TIKey("d/é", 'x"y', "r,1", -1, 1, "q")):
        assert TIKey.from_ref(key.ref) == key
        pod = {"metadata": {"annotations": pod_annotations(key)}}
        assert SCHEME.identity(pod) == key.ref
    assert TIKey.from_ref(
        SCHEME.identity({"metadata": {"annotations": {"task_id": "5", "try_number": "1"}}}) or KEY.ref
    )


def test_the_providers_pods_are_read_with_an_empty_queue_id() -> None:
    provider = {"dag_id": "my_dag", "task_id": "my_task", "run_id": RUN, "try_number": "1"}  # PG:402-412
    ref = SCHEME.identity({"metadata": {"annotations": provider}})
    assert ref is not None and TIKey.from_ref(ref) == TIKey("my_dag", "my_task", RUN, -1, 1, "")
    assert TIKey.from_ref(ref).same_attempt(KEY)  # type: ignore[union-attr]
    assert not KEY.same_attempt(KEY.with_queue_id("another-queueing"))
    assert not KEY.same_attempt(TIKey("my_dag", "my_task", RUN, -1, 2, KEY.queue_id))


def test_pod_names_are_deterministic_valid_and_differ_per_try_and_queueing() -> None:
    name = pod_name(KEY)
    assert name == pod_name(TIKey(*[getattr(KEY, f) for f in KEY.__dataclass_fields__]))
    assert name.startswith("my-dag-my-task-t1-") and DNS1123.match(name) and len(name) <= 63
    others = {
        pod_name(TIKey("my_dag", "my_task", RUN, -1, 2, KEY.queue_id)),
        pod_name(KEY.with_queue_id("other")),
        pod_name(TIKey("my_dag", "my_task", RUN, 0, 1, KEY.queue_id)),
        pod_name(TIKey("my_dag", "my_task", RUN + "x", -1, 1, KEY.queue_id)),
    }
    assert len(others) == 4 and name not in others
    for dag, task in (("x" * 200, "y" * 200), ("ünïcødé", "タスク"), ("---", "..."), ("A.B", "C_D")):
        long_name = pod_name(TIKey(dag, task, RUN, -1, 12, "q"))
        assert DNS1123.match(long_name) and len(long_name) <= 63, long_name


def test_labels_are_the_providers_and_valid() -> None:
    labels = pod_labels(TIKey("my_dag", "my_task", RUN, 4, 2, "q"), 17, "3.3.2+astro.1")
    assert labels == {
        "dag_id": "my_dag",
        "task_id": "my_task",
        "run_id": make_safe_label_value(RUN),
        "try_number": "2",
        "kubernetes_executor": "True",
        "airflow_version": "3.3.2-astro.1",
        "airflow-worker": "17",
        "map_index": "4",
    }
    assert "map_index" not in pod_labels(KEY, 17, "3.3.2")
    assert ti_selector(KEY) == (
        f"kubernetes_executor=True,dag_id=my_dag,task_id=my_task,run_id={make_safe_label_value(RUN)},try_number=1"
    )


# ---- workload -> Launch -----------------------------------------------------------------------------------


def workload(executor_config: Any = None, map_index: int = -1, ext: str | None = KEY.queue_id) -> Any:
    ti = SimpleNamespace(
        dag_id="my_dag",
        task_id="my_task",
        run_id=RUN,
        map_index=map_index,
        try_number=1,
        external_executor_id=ext,
        executor_config=executor_config,
    )
    return SimpleNamespace(ti=ti, model_dump_json=lambda: json.dumps({"ti": {"id": "x"}, "token": "t"}))


TEMPLATE = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "ignored", "labels": {"team": "data"}},
    "spec": {
        "restartPolicy": "Always",
        "serviceAccountName": "airflow-worker",
        "containers": [
            {"name": "base", "image": "apache/airflow:3.3.2", "env": [{"name": "AIRFLOW_HOME", "value": "/opt"}]}
        ],
    },
}


def test_a_workload_becomes_a_pod_template_then_generated_then_override() -> None:
    override = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(labels={"extra": "yes", "airflow-worker": "999"}),
        spec=k8s.V1PodSpec(
            containers=[k8s.V1Container(name="base", image="busybox:1.36", env=[k8s.V1EnvVar(name="X", value="1")])]
        ),
    )
    run = task_run(workload({"pod_override": override}))
    launch = launch_of(run, 5, SETTINGS, TEMPLATE)
    m = launch.manifest
    assert launch.ref == KEY.ref and launch.pod == PodRef("airflow", pod_name(KEY))
    assert m["metadata"]["name"] == pod_name(KEY) and m["metadata"]["namespace"] == "airflow"
    labels = m["metadata"]["labels"]
    assert labels["team"] == "data" and labels["extra"] == "yes"
    assert labels["airflow-worker"] == "5", "no override can disown the pod"
    assert SCHEME.identity(m) == KEY.ref
    assert m["spec"]["restartPolicy"] == "Never" and m["spec"]["serviceAccountName"] == "airflow-worker"
    (base,) = m["spec"]["containers"]
    assert base["image"] == "busybox:1.36"
    assert base["args"][:4] == ["python", "-m", "airflow.sdk.execution_time.execute_workload", "--json-string"]
    assert [e["name"] for e in base["env"]] == ["AIRFLOW_HOME", "AIRFLOW_IS_K8S_EXECUTOR_POD", "X"], "merged by name"
    assert "automountServiceAccountToken" not in m["spec"], "left as the template says (KubernetesPodOperator)"


def test_the_repository_image_wins_over_the_template_and_a_namespace_override_moves_the_pod() -> None:
    run = task_run(workload({"pod_override": {"metadata": {"namespace": "team-a"}}}))
    m = build_manifest(run, 5, PodSettings("airflow", "registry/airflow:9", "3.3.2"), TEMPLATE)
    assert m["spec"]["containers"][0]["image"] == "registry/airflow:9"
    assert m["metadata"]["namespace"] == "team-a"


def test_a_pod_found_already_is_followed_under_its_own_name_and_identity() -> None:
    provider_ref = KEY.with_queue_id("").ref
    launch = launch_of(
        task_run(workload()), 5, SETTINGS, TEMPLATE, (provider_ref, PodRef("airflow", "my-dag-x1y2", "u"))
    )
    assert launch.ref == provider_ref and launch.pod == PodRef("airflow", "my-dag-x1y2", "u")
    assert launch.manifest["metadata"]["name"] == "my-dag-x1y2" and SCHEME.identity(launch.manifest) == provider_ref


def test_a_mutation_hook_may_add_but_not_rename() -> None:
    def hook(pod: dict[str, Any]) -> dict[str, Any]:
        pod["metadata"]["name"] = "renamed"
        pod["metadata"].setdefault("labels", {})["policy"] = "applied"
        return pod

    m = launch_of(task_run(workload()), 5, SETTINGS, TEMPLATE, mutate=hook).manifest
    assert m["metadata"]["name"] == pod_name(KEY) and m["metadata"]["labels"]["policy"] == "applied"


@pytest.mark.parametrize(
    "config", [{"KubernetesExecutor": {"image": "x"}}, {"pod_override": "not a pod"}, ["pod_override"]]
)
def test_an_executor_config_the_provider_refuses_is_refused(config: Any) -> None:
    with pytest.raises(InvalidExecutorConfig, match="Invalid executor_config"):
        task_run(workload(config))


def test_per_task_template_and_missing_queue_id() -> None:
    run = task_run(workload({"pod_template_file": "/t/gpu.yaml"}, map_index=3, ext=None))
    assert run.template_file == "/t/gpu.yaml" and run.key == TIKey("my_dag", "my_task", RUN, 3, 1, "")
    assert isinstance(run, TaskRun) and run.override is None


# ---- options --------------------------------------------------------------------------------------------


def getter(values: dict[tuple[str, str], str]) -> Any:
    return lambda section, key, fallback: values.get((section, key), fallback)


def test_options_read_the_providers_names_and_podherds_own() -> None:
    o = read_options(
        getter(
            {
                ("kubernetes_executor", "namespace"): "airflow",
                ("kubernetes_executor", "multi_namespace_mode"): "True",
                ("kubernetes_executor", "multi_namespace_mode_namespace_list"): "team-a, team-b",
                ("kubernetes_executor", "in_cluster"): "False",
                ("kubernetes_executor", "config_file"): "/k/config",
                ("kubernetes_executor", "cluster_context"): "kind",
                ("kubernetes_executor", "delete_worker_pods_on_failure"): "true",
                ("kubernetes_executor", "worker_pods_creation_batch_size"): "8",
                ("kubernetes_executor", "task_publish_max_retries"): "-1",
                ("kubernetes_executor", "worker_container_repository"): "reg/airflow",
                ("kubernetes_executor", "worker_container_tag"): "3.3.2",
                ("scheduler", "scheduler_heartbeat_sec"): "1",
                ("scheduler", "scheduler_health_check_threshold"): "6",
                ("scheduler", "orphaned_tasks_check_interval"): "30",
                ("podherd", "liveness"): "lease",
                ("podherd", "done_pod_retention"): "60",
            }
        )
    )
    assert o.namespaces == ("airflow", "team-a", "team-b") and o.kube_image == "reg/airflow:3.3.2"
    assert o.kube.kubeconfig == "/k/config" and o.kube.context == "kind"
    assert o.executor.delete_worker_pods and o.executor.delete_worker_pods_on_failure
    assert o.executor.worker_pods_creation_batch_size == 8 and o.executor.task_publish_max_retries >= 10**9
    assert "InvalidImageName" in o.executor.fatal_reasons and o.executor.leftover_period == 30
    assert o.sweep.check_period == 0.5 and o.sweep.sweep_interval == 30 and o.sweep.policy == Policy.PODHERD
    assert o.liveness == Mode.LEASE and o.lease_namespace == "airflow" and o.done_pod_retention == 60


def test_defaults_are_the_providers_and_in_cluster_ignores_the_kubeconfig() -> None:
    o = read_options(getter({("kubernetes_executor", "config_file"): "/k/config"}))
    assert o.namespace == "default" and o.namespaces == ("default",) and o.kube.kubeconfig is None
    assert o.executor.worker_pods_creation_batch_size == 1 and not o.executor.delete_worker_pods_on_failure
    assert o.heartbeat == 5 and o.threshold == 30 and o.liveness == Mode.BOTH and o.log_lines == 100


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({("scheduler", "scheduler_health_check_threshold"): "5"}, "must be above"),
        ({("podherd", "liveness"): "gossip"}, "must be one of"),
        ({("kubernetes_executor", "worker_pods_creation_batch_size"): "many"}, "not a whole number"),
        ({("podherd", "done_pod_retention"): "-1"}, "below"),
    ],
)
def test_inconsistent_options_are_refused_naming_the_option(values: dict[tuple[str, str], str], match: str) -> None:
    with pytest.raises(OptionError, match=match):
        read_options(getter(values))


def test_a_per_task_template_is_read_and_changes_when_its_file_does(tmp_path: Any) -> None:
    from podherd.airflow.runtime import Templates

    gpu = tmp_path / "gpu.yaml"
    gpu.write_text("metadata:\n  labels: {pool: gpu}\nspec:\n  nodeSelector: {gpu: 'true'}\n")
    templates = Templates()
    run = task_run(workload({"pod_template_file": str(gpu)}))
    m = build_manifest(run, 5, SETTINGS, templates.load(run.template_file or ""))
    assert m["metadata"]["labels"]["pool"] == "gpu" and m["spec"]["nodeSelector"] == {"gpu": "true"}
    gpu.write_text("- not a pod\n")
    import os

    os.utime(gpu, (1, 1))  # a new mtime: re-read
    with pytest.raises(ValueError, match="not a mapping"):
        templates.load(str(gpu))
    assert templates.load("") is None
