"""Switching a running deployment from the provider's KubernetesExecutor to `PodherdExecutor`.

The provider's scheduler runs a DAG of long tasks; it is stopped mid-run (SIGTERM, as a rollout
does); the same deployment comes back with `[core] executor = podherd.airflow.PodherdExecutor`
and nothing else changed. Airflow's scheduler hands the old scheduler's task instances to
`try_adopt_task_instances`; podherd finds the provider's pods (random names) by their labels,
claims them with a compare-and-swap and follows them. Every task finishes exactly once (side
effect file, one pod per task instance, try 1 everywhere) and no pod is left.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from tests.airflow.conftest import AirflowFactory
from tests.airflow.harness import KUBERNETES_EXECUTOR, PODHERD_EXECUTOR, AirflowEnv, agent_of
from tests.airflow.test_podherd_ha import DAG_ID, effect_counts, effects_dag
from tests.ha.harness import Harness

pytestmark = [pytest.mark.airflow, pytest.mark.integration, pytest.mark.timeout(900)]


def test_switch_from_the_kubernetes_executor_adopts_its_pods(
    airflow_env: AirflowEnv, embedded_cluster: Harness, airflow_factory: AirflowFactory, tmp_path: Path
) -> None:
    tasks, effects, release = 6, tmp_path / "effects.txt", tmp_path / "release"
    af = airflow_factory(
        airflow_env,
        executor=KUBERNETES_EXECUTOR,
        config={
            "core": {"parallelism": "4"},  # two task instances wait for a slot: queued later, by podherd
            "scheduler": {"scheduler_heartbeat_sec": "2", "scheduler_health_check_threshold": "8"},
            "kubernetes_executor": {"worker_pods_creation_batch_size": "4"},
        },
        dag_files=(),
        extra_dags={f"{DAG_ID}.py": effects_dag(DAG_ID, tasks, 1.0, effects, release)},
    )
    af.start(schedulers=["s1"], dag_ids=(DAG_ID,))
    run_id = af.trigger(DAG_ID)
    af.wait_for(lambda: len(effect_counts(effects)) >= 4, 180, "the provider's tasks to be running")
    provider_pods = {p.metadata.name for p in embedded_cluster.pods()}
    af.stop_process("s1", grace=40)  # SIGTERM: the provider's end() takes ~20 s

    af.executor = PODHERD_EXECUTOR  # the one-line change
    af.write_files()
    switched = time.monotonic()
    af.start_scheduler("s2")
    # The provider's pods still run (they wait for `release`): Airflow hands them to s2 at its start.
    af.wait_for(lambda: "adoption:" in af.process_log("s2"), 180, "s2 adopting them through try_adopt_task_instances")
    release.touch()
    run = af.wait_run(DAG_ID, run_id, timeout=300)
    took = time.monotonic() - switched
    assert run["state"] == "success"
    tis = af.task_instances(DAG_ID, run_id)
    assert {(ti["state"], ti["try_number"]) for ti in tis.values()} == {("success", 1)} and len(tis) == tasks
    assert effect_counts(effects) == Counter({str(i): 1 for i in range(tasks)}), "every task ran exactly once"
    af.wait_for(lambda: not embedded_cluster.pods(), 60, "every pod to be deleted")

    records = embedded_cluster.audit()
    creates = [r for r in records if r["resource"] == "pods" and r["verb"] == "create" and r["code"] == 201]
    by = Counter(agent_of(r) for r in creates)
    assert sum(by.values()) == tasks and by["s1"] >= 4 and set(by) <= {"s1", "s2"}, by
    claimed = {r["name"] for r in records if r["verb"] == "patch" and agent_of(r) == "s2" and 200 <= r["code"] < 300}
    assert claimed and claimed <= provider_pods, "s2 claimed the provider's pods"
    print(f"\nswitch-over: pods by scheduler {dict(by)}, claimed {len(claimed)}, run finished {took:.1f}s after")
