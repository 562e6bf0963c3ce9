"""Smoke test: `benchmarks/airflow_bench.py` runs end to end at a tiny size and reports every figure.

podherd's executor only, every scenario, on real Airflow 3.3.2 with three schedulers on PostgreSQL.
Besides the shape (every figure present), podherd's guarantees must hold in each scenario: no
cross-scheduler write to a live scheduler's pod, no pod name created twice, no task run twice, one
claim per pod in the race, no pod left. No timing is asserted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import airflow_bench
from benchmarks.sweep_cost import DEAD, mix
from tests.airflow.harness import AirflowEnv

pytestmark = [pytest.mark.airflow, pytest.mark.integration, pytest.mark.postgres, pytest.mark.timeout(900)]

TINY = [
    "--executors", "podherd", "--tasks", "6", "--race-pods", "4", "--task-seconds", "0.5",
    "--heartbeat", "1", "--threshold", "8", "--interval", "2", "--outage", "4", "--parallelism", "2",
    "--idle", "2", "--sweep-pods", "300", "--sweep-repeats", "1",
]  # fmt: skip


def test_tiny_airflow_bench_reports_every_figure_and_podherd_keeps_its_guarantees(
    airflow_env: AirflowEnv, tmp_path: Path
) -> None:
    doc = airflow_bench.main([*TINY, "--out", str(tmp_path)])
    assert json.loads((tmp_path / "airflow.json").read_text()) == json.loads(json.dumps(doc))
    assert "| scenario | figure | podherd |" in (tmp_path / "airflow.md").read_text()

    ex = doc["executors"]["podherd"]
    for scenario in ("steady", "db", "kill", "race"):
        s = ex[scenario]
        assert "error" not in s, f"{scenario}: {s.get('error')}"
        assert s["run_state"] == "success" and s["pods_left"] == 0, scenario
        assert s["tasks_run_twice_or_more"] == 0 and s["tasks_never_run"] == 0, scenario
        assert s["pod_names_created_twice"] == 0, scenario

    steady = ex["steady"]
    assert steady["cross_writes"]["total"] == 0 and steady["by_state"] == {"success": 6}
    assert steady["requests_per_task"]["create"] == 1.0 and steady["requests_per_task"]["delete"] >= 1.0
    assert steady["cpu_s_per_task"] > 0 and set(steady["scheduler_cpu_s"]) == {"s1", "s2", "s3"}

    kill = ex["kill"]
    assert kill["victim_tasks_at_kill"] >= 1 and kill["first_claim_s"] is not None
    assert kill["victim_tasks_done_s"] is not None and kill["writes_to_live_schedulers_pods"] == 0

    db = ex["db"]
    assert db["outage_s"] >= 4 and db["cross_writes_during_outage"]["to_live_owners"] == 0
    assert db["writes_to_live_schedulers_pods"] == 0

    race = ex["race"]["claims"]
    assert race["pods"] == 4 and race["claims_won"] == 4 and race["pods_claimed_twice"] == 0
    assert race["redundant_writes"] == 0 and ex["race"]["writes_to_live_schedulers_pods"] == 0

    sweep = doc["sweep"]["executors"]["podherd"]
    dead_terminal = sum(1 for owner, phase in map(mix, range(300)) if owner in DEAD and phase != "Running")
    assert sweep["claimed"] == dead_terminal and sweep["bytes"] > 0 and sweep["cpu_ms"] > 0
    assert sweep["requests"]["list pods 200"] == 2  # Succeeded and Failed, metadata only
