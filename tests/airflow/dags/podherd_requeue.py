"""Tasks that run the same try more than once: each queueing must get its own pod.

Parsed by Airflow (in the Airflow venv), not by pytest.

| task        | what happens                                                                | expected       |
|-------------|-----------------------------------------------------------------------------|----------------|
| deferred    | defers to the triggerer for 2 s, then resumes in a new pod (same try)      | success, try 1 |
| rescheduled | a reschedule-mode sensor: the first poke fails, the second (same try) passes | success, try 1 |

Airflow keeps the try number for a resumed deferral and for a rescheduled poke, so a pod name made
of (task instance, try) alone would collide with the first pod; podherd's names carry the queue id
the scheduler assigns at each queueing (podherd/airflow/keys.py).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import BaseOperator, dag, task


class DeferOnce(BaseOperator):
    """Defers once to a 2-second timer, then finishes in the worker (`resume`)."""

    def execute(self, context: Any) -> None:
        print("deferring", flush=True)
        self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=2)), method_name="resume")

    def resume(self, context: Any, event: Any = None) -> str:
        print("resumed", flush=True)
        return "resumed"


@dag(
    dag_id="podherd_requeue",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0},
    tags=["podherd-test"],
)
def podherd_requeue() -> None:
    DeferOnce(task_id="deferred")

    @task.sensor(poke_interval=1, mode="reschedule", timeout=300)
    def rescheduled(**context: Any) -> bool:
        marker = Path(os.environ["AIRFLOW_HOME"]) / f"poked-{context['run_id']}".replace(":", "_")
        if marker.exists():
            return True
        marker.write_text("first poke")
        return False

    rescheduled()


podherd_requeue()
