"""podherd's Airflow demo DAG: what `scripts/airflow-demo.sh` runs on the embedded cluster.

Every task below runs as its own Kubernetes pod, launched by `podherd.airflow.PodherdExecutor`:

    hello ──► square[0..3] (mapped) ──► total
    custom_pod   (pod_override: an extra env var and label on this task's pod only)
"""

from __future__ import annotations

import os
import socket

import pendulum
from airflow.sdk import dag, task
from kubernetes.client import models as k8s

CUSTOM_POD = {
    "pod_override": k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(labels={"demo": "custom-pod"}),
        spec=k8s.V1PodSpec(
            containers=[k8s.V1Container(name="base", env=[k8s.V1EnvVar(name="DEMO_GREETING", value="hi from a pod")])]
        ),
    )
}


@dag(
    dag_id="podherd_demo",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["podherd", "demo"],
)
def podherd_demo() -> None:
    @task
    def hello() -> list[int]:
        # In a pod, HOSTNAME is the pod's name: podherd names it from the task instance and its try.
        print(f"hello from pod {os.environ.get('HOSTNAME', socket.gethostname())}", flush=True)
        return [1, 2, 3, 4]

    @task
    def square(x: int) -> int:
        print(f"{x} squared is {x * x}", flush=True)
        return x * x

    @task
    def total(values: list[int]) -> int:
        result = sum(values)
        print(f"the sum of the squares is {result}", flush=True)
        return result

    @task(executor_config=CUSTOM_POD)
    def custom_pod() -> str:
        greeting = os.environ.get("DEMO_GREETING", "")
        print(f"DEMO_GREETING={greeting!r}", flush=True)
        if not greeting:
            raise RuntimeError("the pod_override did not reach this pod")
        return greeting

    total(square.expand(x=hello()))
    custom_pod()


podherd_demo()
