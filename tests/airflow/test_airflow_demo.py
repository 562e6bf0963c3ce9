"""`scripts/airflow-demo.sh --once`, as a newcomer runs it: it ends with the DAG run `success`.

The script builds (or finds) the Airflow venv, starts the embedded cluster and Airflow with
`[core] executor = podherd.airflow.PodherdExecutor`, runs examples/airflow/podherd_demo.py and
prints where to look; `--once` stops everything afterwards.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.airflow.harness import REPO, AirflowEnv

pytestmark = [pytest.mark.airflow, pytest.mark.integration, pytest.mark.timeout(900)]


def test_the_demo_ends_with_the_dag_run_success(airflow_env: AirflowEnv, tmp_path: Path) -> None:
    home = tmp_path / "demo"
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "airflow-demo.sh"), "--once", "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "[airflow-demo] DAG run success." in out
    pods = re.findall(r"^    (podherd-demo-\S+)$", out, re.MULTILINE)
    assert len(pods) == 7 and len(set(pods)) == 7, out[-4000:]  # hello, custom_pod, square[0..3], total
    assert "podherd.airflow.PodherdExecutor" in (home / "airflow.cfg").read_text()
    assert (home / "k8s" / "audit.jsonl").exists() and (home / "logs" / "scheduler.log").exists()
    print(f"\n{out[out.index('[airflow-demo] DAG run success.') :]}")
