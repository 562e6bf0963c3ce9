"""A clean stop (SIGINT/SIGTERM) never leaves a task `running` with nobody to finish it.

`podherd run` hands every unfinished try back (queued, try not counted), deleting pods it
launched, since no survivor will take them over. A `podherd scheduler` hands back the tries it
had not launched yet and leaves launched pods to the survivors' takeover.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from podherd.standalone.db import open_database, queries
from tests.ha.harness import PODHERD, Harness, sim_task

pytestmark = pytest.mark.integration


def test_ctrl_c_during_run_hands_every_task_back(tmp_path: Path) -> None:
    tasks = [sim_task(f"long{i}", seconds=120) for i in range(6)]
    (tmp_path / "tasks.yaml").write_text(yaml.safe_dump({"tasks": tasks}))
    url = f"sqlite:///{tmp_path}/run.db"
    proc = subprocess.Popen(
        [*PODHERD, "run", "tasks.yaml", "--local-mode", "simulate", "--quiet", "--db", url],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        engine = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (tmp_path / "run.db").exists():
                engine = engine or open_database(url)
                states = [a.state for t in queries.list_tasks(engine) for a in t.attempts]
                if len(states) == 6 and all(s in ("pending", "running") for s in states):
                    break
            time.sleep(0.2)
        else:
            raise AssertionError("the run never launched its tasks")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in out + err
    assert "handing unfinished tasks back" in err
    assert engine is not None
    rows = queries.list_tasks(engine)
    assert [(t.state, t.try_number, t.attempts) for t in rows] == [("queued", 0, ())] * 6
    assert all(j.state != "running" for j in queries.list_jobs(engine)), "the run's job row is ended"


def test_sigterm_of_a_scheduler_hands_back_unlaunched_tries_and_leaves_the_rest_for_takeover(tmp_path: Path) -> None:
    h = Harness(tmp_path, f"sqlite:///{tmp_path}/stop.db", cluster_args=("--fault", "latency_ms=150"))
    h.start_cluster()
    try:
        h.submit([sim_task(f"t{i}", seconds=3) for i in range(40)])
        h.start_replica("first", core__parallelism="40", kubernetes_executor__worker_pods_creation_batch_size="2")
        h.wait_for(lambda: len(h.creators()) >= 4, 60, "some pods created")
        h.kill("first", signal.SIGTERM)  # most tries are claimed but their pods not yet created
        after = {t.name: t for t in queries.list_tasks(h.engine)}
        created = {name for (_ns, name) in h.creators()}
        queued = [t for t in after.values() if t.state == "queued"]
        assert queued, "the unlaunched tries went back to the queue"
        assert all(t.try_number == 0 and not t.attempts for t in queued), "handed back uncounted"
        running = [t for t in after.values() if t.state == "running"]
        assert all(t.attempts[-1].pod_name in created for t in running), "only launched tries are left running"
        h.start_replica("second")
        counts = h.wait_all_terminal(timeout=120)
        assert counts["success"] == 40
        assert all(t.try_number == 1 for t in queries.list_tasks(h.engine)), "the stop burned no try"
        h.wait_no_pods(timeout=60)
        h.assert_invariants()
    finally:
        h.stop()
