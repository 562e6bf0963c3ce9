"""`[core] executor` forms Airflow accepts for PodherdExecutor, and the `[podherd]` defaults, in real Airflow 3.3.

Each configuration is loaded by Airflow's own `ExecutorLoader` in the Airflow venv; what is checked
is which `task_instance.executor` values podherd then treats as its own (takeover must never pick
up another executor's task instances): its alias, module path and class name, and NULL only when
it is the default (first) executor.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.airflow.harness import AirflowEnv

pytestmark = [pytest.mark.airflow, pytest.mark.integration, pytest.mark.timeout(300)]

PROBE = """
import json
from airflow.configuration import conf
from airflow.executors.executor_loader import ExecutorLoader
from podherd.airflow.executor import PodherdExecutor
from podherd.airflow.wiring import executor_tasks
mine = [executor_tasks(e) for e in ExecutorLoader.init_executors() if isinstance(e, PodherdExecutor)]
print(json.dumps({
    "tasks": [{"names": t.names, "default": t.default} for t in mine],
    "liveness": conf.get("podherd", "liveness"),
    "retention": conf.get("podherd", "done_pod_retention"),
}))
"""
PODHERD = "podherd.airflow.PodherdExecutor"


@pytest.mark.parametrize(
    ("executor", "names", "default"),
    [
        (PODHERD, ["PodherdExecutor", PODHERD], True),
        (f"k8s:{PODHERD}", ["PodherdExecutor", "k8s", PODHERD], True),
        (f"LocalExecutor,k8s:{PODHERD}", ["PodherdExecutor", "k8s", PODHERD], False),
    ],
)
def test_executor_forms(
    airflow_env: AirflowEnv, tmp_path: Path, executor: str, names: list[str], default: bool
) -> None:
    env = {"AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__EXECUTOR": executor, "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [str(airflow_env.python), "-c", PROBE], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert answer["tasks"] == [{"names": names, "default": default}]
    assert (answer["liveness"], answer["retention"]) == ("both", "86400"), "the provider entry point's defaults"
