"""`podherd.airflow.PodherdExecutor` in real Airflow 3.3.2, one scheduler on SQLite, on the embedded cluster.

The provider's probe DAG (dags/podherd_probe.py), with `[core] executor` swapped: success, a task
failing with exit code 3, a container exiting 3 before the Task SDK runs, a retry, a
`pod_override`, an invalid image (failed with a clear reason, in the scheduler's log and in
Airflow's `log` table), and a live log read through the executor while the task runs; beside it
dags/podherd_requeue.py, whose tasks run the same try twice (a deferral resumed, a rescheduled
sensor poke): a pod per queueing, never a name reused. Then what is podherd's: one pod per try with the deterministic name computed from the task instance rows,
each created once; the kept failed pod labelled done; `airflow kubernetes cleanup-pods` removes it;
the `[podherd]` options and `airflow podherd` commands are there.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import text

from podherd.airflow.keys import TIKey, pod_name
from tests.airflow.conftest import AirflowFactory
from tests.airflow.harness import API_SERVER, DAGS, PODHERD_EXECUTOR, AirflowDeployment, AirflowEnv, agent_of
from tests.ha.harness import Harness

pytestmark = [pytest.mark.airflow, pytest.mark.integration, pytest.mark.timeout(900)]

PROBE = "podherd_probe"
REQUEUE = "podherd_requeue"
EXPECTED = {
    "ok": ("success", 1),
    "fail_exit": ("failed", 1),
    "pod_exit": ("failed", 1),
    "retry_once": ("success", 2),
    "pod_override": ("success", 1),
    "bad_image": ("failed", 1),
    "long_logs": ("success", 1),
}
# One pod per try, never a second one for the same try (the provider makes 2 for bad_image).
EXPECTED_PODS = Counter(ok=1, fail_exit=1, pod_exit=1, retry_once=2, pod_override=1, bad_image=1, long_logs=1)
FAST = {  # short timings so a test does not wait for Airflow's production defaults
    "scheduler": {
        "scheduler_heartbeat_sec": "1",
        "scheduler_health_check_threshold": "6",
        "orphaned_tasks_check_interval": "10",
    },
    "kubernetes_executor": {"worker_pods_creation_batch_size": "8"},
}


def attempts(af: AirflowDeployment, dag_id: str) -> list[TIKey]:
    """Every try of every task instance of `dag_id` (current and history), with its queue id, from the DB."""
    engine = af.db_engine()
    try:
        with engine.connect() as conn:
            rows = [
                *conn.execute(
                    text(
                        "SELECT dag_id, task_id, run_id, map_index, try_number, external_executor_id"
                        " FROM task_instance WHERE dag_id = :d"
                    ),
                    {"d": dag_id},
                ),
                *conn.execute(
                    text(
                        "SELECT dag_id, task_id, run_id, map_index, try_number, external_executor_id"
                        " FROM task_instance_history WHERE dag_id = :d"
                    ),
                    {"d": dag_id},
                ),
            ]
    finally:
        engine.dispose()
    return [TIKey(d, t, r, m, n, q or "") for d, t, r, m, n, q in rows]


def log_events(af: AirflowDeployment, event: str) -> list[tuple[str, str]]:
    engine = af.db_engine()
    try:
        with engine.connect() as conn:
            return [
                (t, x or "")
                for t, x in conn.execute(text("SELECT task_id, extra FROM log WHERE event = :e"), {"e": event})
            ]
    finally:
        engine.dispose()


def _exit_codes(pod: Any) -> list[int | None]:
    return [c.state.terminated.exit_code if c.state.terminated else None for c in pod.status.container_statuses or []]


def test_probe_dag_one_scheduler_sqlite(
    airflow_env: AirflowEnv, embedded_cluster: Harness, airflow_factory: AirflowFactory
) -> None:
    af = airflow_factory(
        airflow_env,
        executor=PODHERD_EXECUTOR,
        config=FAST,
        dag_files=(DAGS / "podherd_probe.py", DAGS / f"{REQUEUE}.py"),
    )
    startup = af.start(schedulers=1, triggerer=True, dag_ids=(PROBE, REQUEUE))
    s1 = af.scheduler_job_ids(alive=True)["s1"]
    t0 = time.monotonic()
    run_id = af.trigger(PROBE)
    requeue_run = af.trigger(REQUEUE)

    # A live log, read while the task runs: the API server asks the executor, which reads the pod's log.
    af.wait_task_state(PROBE, run_id, "long_logs", ["running"], timeout=180)
    log = af.wait_for(
        lambda: (text_ := af.task_log(PROBE, run_id, "long_logs", 1)) and "tick 2" in text_ and text_,
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
    assert [t["state"] for t in af.tries(PROBE, run_id, "retry_once")] == ["failed", "success"]

    # Clear reasons for the tries that failed before the Task SDK ran: scheduler log and `log` table.
    scheduler_log = af.process_log("s1")
    assert "InvalidImageName" in scheduler_log and "exit_code: 3" in scheduler_log
    mismatches = dict(log_events(af, "state mismatch"))
    assert "InvalidImageName" in mismatches.get("bad_image", ""), mismatches
    assert "exit_code: 3" in mismatches.get("pod_exit", ""), mismatches

    # One pod per try, named from the task instance rows: (task instance, try, queue id).
    records = embedded_cluster.audit()
    creates = [r for r in records if r["resource"] == "pods" and r["verb"] == "create" and r["code"] == 201]
    assert {agent_of(r) for r in creates} == {"s1"}
    names = Counter(r["name"] for r in creates)
    assert all(n == 1 for n in names.values()), f"a pod name created twice: {names}"
    expected_names = {pod_name(k): k.task_id for k in attempts(af, PROBE)}
    assert Counter(expected_names[n] for n in names if n in expected_names) == EXPECTED_PODS

    # The same try run twice (deferral resumed, sensor rescheduled): two queueings, two pods, try 1.
    assert af.wait_run(REQUEUE, requeue_run, timeout=120)["state"] == "success"
    requeued = af.task_instances(REQUEUE, requeue_run)
    assert {k: (ti["state"], ti["try_number"]) for k, ti in requeued.items()} == {
        "deferred": ("success", 1),
        "rescheduled": ("success", 1),
    }
    requeue_pods = Counter(r["name"].split("-t1-")[0] for r in creates if r["name"] not in expected_names)
    assert requeue_pods == Counter({"podherd-requeue-deferred": 2, "podherd-requeue-rescheduled": 2}), requeue_pods

    # Failed pods are kept, labelled done (delete_worker_pods_on_failure=False), the rest deleted.
    af.wait_for(
        lambda: sorted(p.metadata.labels["task_id"] for p in embedded_cluster.pods()) == ["pod_exit"],
        60,
        "every pod but the failed one to be deleted",
    )
    (kept,) = embedded_cluster.pods()
    assert kept.status.phase == "Failed" and _exit_codes(kept) == [3]
    labels = kept.metadata.labels
    assert labels["airflow_executor_done"] == "True" and labels["airflow-worker"] == str(s1)
    assert labels["dag_id"] == PROBE and labels["kubernetes_executor"] == "True" and labels["try_number"] == "1"
    assert kept.metadata.annotations["run_id"] == run_id and kept.spec.restart_policy == "Never"

    # The provider's cleanup command works on podherd's pods.
    out = af.cli("kubernetes", "cleanup-pods", "--min-completed-minutes", "0").stdout
    assert kept.metadata.name in out
    af.wait_for(lambda: not embedded_cluster.pods(), 30, "cleanup-pods to delete the kept pod")

    # The running task's log was read by the API server, through the executor; the scheduler read only
    # the failed pod's tail (it goes into the failure's info).
    log_reads = Counter((agent_of(r), expected_names[r["name"]]) for r in records if r.get("subresource") == "log")
    assert {task for agent, task in log_reads if agent == API_SERVER} == {"long_logs"}
    assert {task for agent, task in log_reads if agent != API_SERVER} == {"pod_exit"}

    # podherd's options and CLI, registered through the provider entry point.
    assert "done_pod_retention" in af.cli("config", "list", "--section", "podherd", "--include-descriptions").stdout
    status = af.cli("podherd", "status").stdout
    assert f"schedulers alive (job table): [{s1}]" in status and f"scheduler Leases in default: ['{s1}']" in status
    yaml_dir = af.home / "yaml"
    af.cli("podherd", "generate-dag-yaml", PROBE, "--output-path", str(yaml_dir))
    assert len(list((yaml_dir / "podherd_yaml_output").glob("*.yml"))) == len(EXPECTED)
    print(f"\nprobe DAG, PodherdExecutor, 1 scheduler, SQLite: startup {startup:.1f}s, run {took:.1f}s")
