"""The executor contract DAG: every case a KubernetesExecutor replacement must get right.

Parsed by Airflow (in the Airflow venv), not by pytest. The same DAG serves the provider's
KubernetesExecutor and podherd's executor: only `[core] executor` changes.

| task          | what happens                                                      | expected TI   |
|---------------|-------------------------------------------------------------------|---------------|
| ok            | prints a marker and returns                                       | success, try 1 |
| fail_exit     | the task calls sys.exit(3) (the task fails, the pod exits 0)      | failed         |
| pod_exit      | pod_override command `sh -c 'exit 3'`: the container exits 3      | failed         |
|               | before the Task SDK starts (pod Failed, exit code 3)              |                |
| retry_once    | fails on try 1, succeeds on try 2                                 | success, try 2 |
| pod_override  | pod_override adds an env var and a label; the task checks the env | success        |
| bad_image     | pod_override image is not a valid reference (InvalidImageName)    | failed         |
| long_logs     | prints `tick N` once a second for LONG_SECONDS                    | success        |
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from kubernetes.client import models as k8s

LONG_SECONDS = 30
OK_MARKER = "podherd-probe-ok-marker"
BAD_IMAGE = "Not A Valid Image!"

OVERRIDE = {
    "pod_override": k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(labels={"podherd-test": "override"}),
        spec=k8s.V1PodSpec(
            containers=[k8s.V1Container(name="base", env=[k8s.V1EnvVar(name="PODHERD_OVERRIDE", value="yes")])]
        ),
    )
}
POD_EXIT = {
    "pod_override": k8s.V1Pod(
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="base", command=["/bin/sh", "-c", "exit 3", "sh"])])
    )
}
BAD = {"pod_override": k8s.V1Pod(spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="base", image=BAD_IMAGE)]))}


@dag(
    dag_id="podherd_probe",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
    tags=["podherd-test"],
)
def podherd_probe() -> None:
    @task
    def ok() -> str:
        print(OK_MARKER, flush=True)
        return OK_MARKER

    @task
    def fail_exit() -> None:
        print("exiting with 3", flush=True)
        sys.exit(3)

    @task(executor_config=POD_EXIT)
    def pod_exit() -> None:
        raise AssertionError("the pod's command exits before the task runs")

    @task(retries=1, retry_delay=timedelta(seconds=1))
    def retry_once(**context: object) -> int:
        try_number = context["ti"].try_number  # type: ignore[attr-defined]
        print(f"try {try_number}", flush=True)
        if try_number < 2:
            raise RuntimeError("failing on purpose on the first try")
        return int(try_number)

    @task(executor_config=OVERRIDE)
    def pod_override() -> str:
        value = os.environ.get("PODHERD_OVERRIDE")
        print(f"PODHERD_OVERRIDE={value}", flush=True)
        if value != "yes":
            raise AssertionError(f"pod_override env not applied: {value!r}")
        return value

    @task(executor_config=BAD)
    def bad_image() -> None:
        raise AssertionError("a pod with an invalid image never runs")

    @task
    def long_logs() -> int:
        for i in range(LONG_SECONDS):
            print(f"tick {i}", flush=True)
            time.sleep(1)
        return LONG_SECONDS

    ok()
    fail_exit()
    pod_exit()
    retry_once()
    pod_override()
    bad_image()
    long_logs()


podherd_probe()
