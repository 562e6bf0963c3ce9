"""The provider's own KubernetesExecutor on podherd's embedded cluster: proves the harness.

These are the templates for `podherd.airflow.PodherdExecutor`'s tests: the same DAGs and the same
checks with the executor string swapped. What is specific to the provider (failed pods kept,
a second pod for a pre-execution failure, random pod names) is asserted as the provider's
behaviour, so a change in it shows here.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.conftest import AirflowFactory
from tests.airflow.harness import (
    API_SERVER,
    AirflowDeployment,
    AirflowEnv,
    agent_of,
    fanout_dag,
    pod_label_requests,
)
from tests.ha.harness import Harness

pytestmark = [pytest.mark.airflow, pytest.mark.integration, pytest.mark.timeout(1200)]

PROBE = "podherd_probe"
EXPECTED = {
    # task: (state, try_number)
    "ok": ("success", 1),
    "fail_exit": ("failed", 1),
    "pod_exit": ("failed", 1),
    "retry_once": ("success", 2),
    "pod_override": ("success", 1),
    "bad_image": ("failed", 1),
    "long_logs": ("success", 1),
}
# Pods the provider creates per task: a retry is a new pod; a pre-execution failure (the invalid
# image) is re-created once with the same try (pod_launch_failure_retries=1).
EXPECTED_PODS = Counter(ok=1, fail_exit=1, pod_exit=1, retry_once=2, pod_override=1, bad_image=2, long_logs=1)


def _waiting_reasons(pod: Any) -> list[str | None]:
    return [c.state.waiting.reason if c.state.waiting else None for c in pod.status.container_statuses or []]


def _exit_codes(pod: Any) -> list[int | None]:
    return [c.state.terminated.exit_code if c.state.terminated else None for c in pod.status.container_statuses or []]


def _pod_log_file(af: AirflowDeployment, run_id: str, task_id: str, try_number: int) -> Path:
    """Where the pod's task runner wrote its log (the pod template's pod-logs/, default filename template)."""
    return (
        af.home
        / "pod-logs"
        / f"dag_id={PROBE}"
        / f"run_id={run_id}"
        / f"task_id={task_id}"
        / f"attempt={try_number}.log"
    )


def test_probe_dag_one_scheduler_sqlite(
    airflow_env: AirflowEnv, embedded_cluster: Harness, airflow_factory: AirflowFactory
) -> None:
    af = airflow_factory(airflow_env)
    startup = af.start(schedulers=1)
    s1 = af.scheduler_job_ids(alive=True)["s1"]

    t0 = time.monotonic()
    run_id = af.trigger(PROBE)

    # A live log, read while the task runs: the API server asks the executor, which reads the pod's log.
    af.wait_task_state(PROBE, run_id, "long_logs", ["running"], timeout=180)
    log = af.wait_for(
        lambda: (text := af.task_log(PROBE, run_id, "long_logs", 1)) and "tick 2" in text and text,
        60,
        "long_logs' live log to show tick 2",
    )
    assert "Found logs through kube API" in log
    assert af.task_instances(PROBE, run_id)["long_logs"]["state"] == "running", "the log was not read live"

    run = af.wait_run(PROBE, run_id, timeout=300)
    took = time.monotonic() - t0
    assert run["state"] == "failed"  # fail_exit, pod_exit and bad_image fail on purpose

    tis = af.task_instances(PROBE, run_id)
    assert {k: (ti["state"], ti["try_number"]) for k, ti in tis.items()} == EXPECTED
    assert _pod_log_file(af, run_id, "ok", 1).read_text().count("podherd-probe-ok-marker") >= 1
    assert "exiting with 3" in _pod_log_file(af, run_id, "fail_exit", 1).read_text()
    assert [t["state"] for t in af.tries(PROBE, run_id, "retry_once")] == ["failed", "success"]

    scheduler_log = af.process_log("s1")
    pods = {p.metadata.name: p for p in embedded_cluster.pods()}

    # pod_exit: the container exited 3 before the Task SDK ran; the provider keeps failed pods.
    pod_exit = [p for p in pods.values() if p.metadata.labels["task_id"] == "pod_exit"]
    assert [(p.status.phase, _exit_codes(p)) for p in pod_exit] == [("Failed", [3])]
    assert "exit_code: 3" in scheduler_log

    # bad_image: fatal InvalidImageName while Pending; the provider re-creates the pod once
    # (pod_launch_failure_retries=1, same try) and keeps both.
    bad = [p for p in pods.values() if p.metadata.labels["task_id"] == "bad_image"]
    assert [(p.status.phase, _waiting_reasons(p)) for p in bad] == [("Pending", ["InvalidImageName"])] * 2
    assert "with fatal reason InvalidImageName" in scheduler_log

    # Every other pod is deleted once its result is in.
    af.wait_for(
        lambda: (
            Counter(p.metadata.labels["task_id"] for p in embedded_cluster.pods()) == Counter(pod_exit=1, bad_image=2)
        ),
        60,
        "succeeded pods to be deleted",
    )

    # Labels and annotations of a kept pod: the provider's scheme.
    labels = pod_exit[0].metadata.labels
    assert labels["airflow-worker"] == str(s1)
    assert labels["dag_id"] == PROBE and labels["kubernetes_executor"] == "True" and labels["try_number"] == "1"
    assert pod_exit[0].metadata.annotations["run_id"] == run_id

    # The audit log tells who did what: s1 created every pod, the API server read the live log.
    records = embedded_cluster.audit()
    creates = [r for r in pod_label_requests(records, "create") if r["code"] == 201]
    assert {agent_of(r) for r in creates} == {"s1"}
    # Random names `<dag>-<task>-<8 random>`, slugified: the prefix tells the task.
    assert (
        Counter(r["name"].removeprefix("podherd-probe-").rsplit("-", 1)[0].replace("-", "_") for r in creates)
        == EXPECTED_PODS
    )
    log_reads = [r for r in records if r["resource"] == "pods" and r["subresource"] == "log"]
    assert log_reads and {agent_of(r) for r in log_reads} == {API_SERVER}
    print(f"\nprobe DAG, 1 scheduler, SQLite: startup {startup:.1f}s, run {took:.1f}s, {len(records)} API requests")


def test_two_schedulers_postgres(
    airflow_env: AirflowEnv,
    embedded_cluster: Harness,
    airflow_factory: AirflowFactory,
    airflow_postgres_url: str,
) -> None:
    tasks = 20
    af = airflow_factory(
        airflow_env,
        db_url=airflow_postgres_url,
        dag_files=(),
        extra_dags={"podherd_fanout.py": fanout_dag("podherd_fanout", tasks, seconds=1.0)},
    )
    startup = af.start(schedulers=2, dag_ids=("podherd_fanout",))
    jobs = af.scheduler_job_ids(alive=True)
    assert set(jobs) == {"s1", "s2"}

    t0 = time.monotonic()
    run_id = af.trigger("podherd_fanout")
    run = af.wait_run("podherd_fanout", run_id, timeout=300)
    took = time.monotonic() - t0
    assert run["state"] == "success"
    tis = af.task_instances("podherd_fanout", run_id)
    assert len(tis) == tasks and {ti["state"] for ti in tis.values()} == {"success"}
    assert {ti["try_number"] for ti in tis.values()} == {1}

    af.wait_for(lambda: not embedded_cluster.pods(), 60, "every pod to be deleted")
    records = embedded_cluster.audit()
    creates = [r for r in pod_label_requests(records, "create") if r["code"] == 201]
    assert len(creates) == tasks, "one pod per task instance"
    creators = {r["name"]: agent_of(r) for r in creates}
    assert set(creators.values()) <= {"s1", "s2"}
    # With #66400 (provider 10.25.0) no scheduler writes to the other's pods while both live.
    cross = [
        r
        for r in records
        if r["resource"] == "pods"
        and r["verb"] in ("patch", "delete")
        and r["name"] in creators
        and agent_of(r) != creators[r["name"]]
    ]
    assert cross == []
    print(
        f"\n{tasks}-task DAG, 2 schedulers, PostgreSQL: startup {startup:.1f}s, run {took:.1f}s, "
        f"pods created per scheduler {dict(Counter(creators.values()))}"
    )


def test_thrash_provider_runs_tasks(
    airflow_thrash_env: AirflowEnv, embedded_cluster: Harness, airflow_factory: AirflowFactory
) -> None:
    """Provider 10.17.0 (before #66400), the benchmark's "thrash" row, runs on Airflow 3.3.2 too."""
    assert airflow_thrash_env.version("apache-airflow-providers-cncf-kubernetes") == "10.17.0"
    assert airflow_thrash_env.version("apache-airflow-core") == "3.3.2"
    af = airflow_factory(
        airflow_thrash_env,
        dag_files=(),
        extra_dags={"podherd_fanout.py": fanout_dag("podherd_fanout", 3, seconds=0.5)},
    )
    startup = af.start(schedulers=1, dag_ids=("podherd_fanout",))
    run_id = af.trigger("podherd_fanout")
    assert af.wait_run("podherd_fanout", run_id, timeout=240)["state"] == "success"
    af.wait_for(lambda: not embedded_cluster.pods(), 60, "every pod to be deleted")
    creates = [r for r in pod_label_requests(embedded_cluster.audit(), "create") if r["code"] == 201]
    assert len(creates) == 3 and {agent_of(r) for r in creates} == {"s1"}
    print(f"\nprovider 10.17.0: startup {startup:.1f}s")
