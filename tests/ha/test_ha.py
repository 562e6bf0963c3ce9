"""High availability with real replica processes (issue 4 acceptance 1-6), on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import start_postgres
from tests.ha.harness import HEARTBEAT, THRESHOLD, Harness, sim_task

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ha.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def harness(tmp_path: Path, db_url: str) -> Iterator[Harness]:
    h = Harness(tmp_path, db_url)
    h.start_cluster()
    yield h
    h.stop()


def replica_ids(h: Harness) -> set[str]:
    return {h.replica_of(r) or "" for r in h.audit() if h.replica_of(r)}


# ---- 1. steady state: no cross-talk while all are alive ---------------------------------------------


@pytest.mark.parametrize("delete_pods", ["true", "false"])
def test_steady_state_three_replicas_no_cross_replica_writes(harness: Harness, delete_pods: str) -> None:
    settings = {
        "kubernetes_executor__delete_worker_pods": delete_pods,
        "kubernetes_executor__done_pod_retention": "2",
        "scheduler__orphaned_tasks_check_interval": "0.5",  # sweep often: they must still find nothing
    }
    harness.submit([sim_task(f"s{i}", seconds=0.5) for i in range(300)])
    for name in ("a", "b", "c"):
        harness.start_replica(name, **settings)
    counts = harness.wait_all_terminal(timeout=180)
    assert counts["success"] == 300 and counts["failed"] == 0
    harness.wait_no_pods(timeout=60)  # with delete false: kept done pods go after their retention
    assert len(replica_ids(harness)) == 3  # all three did work
    assert harness.cross_replica_patches() == []
    if delete_pods == "false":
        assert harness.pod_patches(), "kept pods are labelled done with a PATCH by their owner"


# ---- 6. regression guard: the pre-fix policy does thrash in the same harness ------------------------


def test_exclude_self_policy_thrashes_in_the_same_harness(tmp_path: Path) -> None:
    """Airflow 10.15's policy (exclude only myself, blind relabel) writes other replicas' pods: > 0."""
    h = Harness(tmp_path, f"sqlite:///{tmp_path}/guard.db", cluster_args=("--fault", "latency_ms=5"))
    h.start_cluster()
    try:
        settings = {
            "scheduler__adoption_policy": "exclude-self",
            "scheduler__orphaned_tasks_check_interval": "0.2",
        }
        h.submit([sim_task(f"g{i}", seconds=0.5) for i in range(300)])
        for name in ("a", "b", "c"):
            h.start_replica(name, **settings)
        counts = h.wait_all_terminal(timeout=180)
        assert counts["success"] == 300  # still correct, just wasteful
        assert len(h.cross_replica_patches()) > 0
    finally:
        h.stop()


# ---- 2. kill -9 mid-run: exactly-once side effects, fast takeover ------------------------------------


def test_kill_dash_nine_mid_run(tmp_path: Path, db_url: str) -> None:
    h = Harness(tmp_path, db_url, mode="process")
    h.start_cluster()
    effects = tmp_path / "effects.txt"
    try:
        script = f"import sys, time\ntime.sleep(4)\nopen({str(effects)!r}, 'a').write(sys.argv[1] + '\\n')\n"
        names = [f"k{i}" for i in range(45)]
        h.submit([{"name": n, "image": "python:3", "command": [sys.executable, "-c", script, n]} for n in names])
        for name in ("a", "b", "c"):
            h.start_replica(name, core__parallelism="15")
        h.wait_for(lambda: len(set(h.creators().values())) == 3, 60, "every replica to launch pods")
        h.wait_for(lambda: h.counts()["running"] >= 40, 60, "tasks to be running")
        victim_name = "a"
        victim = _replica_id_of(h, victim_name)
        killed_at = h.kill(victim_name)
        counts = h.wait_all_terminal(timeout=180)
        assert counts["success"] == 45 and counts["failed"] == 0
        lines = effects.read_text().splitlines()
        assert sorted(lines) == sorted(names), "every side effect exactly once"
        h.wait_no_pods(timeout=60)
        # takeover: the first claim of a dead replica's pod by a survivor
        claims = [
            r
            for r in h.pod_patches()
            if h.creators().get((r["namespace"], r["name"])) == victim and h.replica_of(r) != victim
        ]
        assert claims, "the survivors claimed the dead replica's pods"
        first = min(_ts(r["time"]) for r in claims)
        latency = first - killed_at
        print(f"takeover latency {latency:.2f}s")
        assert latency <= THRESHOLD + 2 * HEARTBEAT, f"takeover took {latency:.2f}s"
        assert h.cross_replica_patches(exclude_creators={victim}) == []  # survivors never touched each other
    finally:
        h.stop()


def _ts(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _replica_id_of(h: Harness, name: str) -> str:
    """The job id of harness replica `name` (its pid is in the job row)."""
    from podherd.db import queries

    pid = h.replicas[name].pid
    return next(str(j.id) for j in queries.list_jobs(h.engine) if j.pid == pid)


# ---- 3. two survivors race for 200 completed pods ----------------------------------------------------


def test_two_survivors_race_for_200_completed_pods(harness: Harness) -> None:
    harness.submit([sim_task(f"r{i}", seconds=2) for i in range(200)])
    harness.start_replica("dead", core__parallelism="200")
    harness.wait_for(lambda: len(harness.creators()) == 200, 60, "all 200 pods created")
    dead = _replica_id_of(harness, "dead")
    harness.kill("dead")
    harness.wait_for(
        lambda: sum(1 for p in harness.pods() if p.status.phase == "Succeeded") == 200, 60, "all pods completed"
    )
    harness.start_replica("b")
    harness.start_replica("c")
    counts = harness.wait_all_terminal(timeout=120)
    assert counts["success"] == 200
    harness.wait_no_pods(timeout=60)
    dead_pods = {name for (_ns, name), rid in harness.creators().items() if rid == dead}
    wins = harness.successful_patches_by_pod()
    unclaimed = sorted(p for p in dead_pods if wins[p] == 0)
    trail = [r for r in harness.audit() if r["name"] in unclaimed[:2]]
    assert sum(wins[p] for p in dead_pods) == 200, ("exactly 200 successful claims", unclaimed[:5], trail)
    assert all(wins[p] == 1 for p in dead_pods), "no pod written twice"
    deletes = [r for r in harness.audit() if r["verb"] == "delete" and r["resource"] == "pods"]
    assert len(deletes) == 200 and all(r["code"] == 200 for r in deletes), "each pod deleted once, no redundant call"


# ---- 4. PostgreSQL stopped for 20 s under load -------------------------------------------------------


def test_postgres_outage_under_load(tmp_path: Path) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="podherd-pg-outage-"))  # reachable by the unprivileged server user
    executor, admin_url = start_postgres(workdir)
    h = Harness(tmp_path, admin_url)
    h.start_cluster()
    try:
        h.submit([sim_task(f"p{i}", seconds=1) for i in range(300)])
        for name in ("a", "b", "c"):
            h.start_replica(name, core__parallelism="20")
        h.wait_for(lambda: h.counts()["success"] >= 30, 60, "some progress before the outage")
        h.engine.dispose()
        executor.stop()
        time.sleep(20)
        executor.start()
        assert all(p.poll() is None for p in h.replicas.values()), "every replica survived the outage"
        counts = h.wait_all_terminal(timeout=180)
        assert counts["success"] == 300 and counts["failed"] == 0
        h.wait_no_pods(timeout=60)
        assert h.cross_replica_patches() == [], "no replica claimed a live replica's pods"
    finally:
        h.stop()
        executor.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# ---- 5. a replica restarted on the same host cleans its previous completed pods ----------------------


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_restarted_replica_cleans_its_previous_pods(harness: Harness, how: int) -> None:
    harness.submit([sim_task(f"x{i}", seconds=2) for i in range(20)])
    harness.start_replica("first")
    harness.wait_for(lambda: len(harness.creators()) == 20, 60, "pods created")
    harness.kill("first", how)
    harness.wait_for(
        lambda: sum(1 for p in harness.pods() if p.status.phase == "Succeeded") == 20, 60, "pods completed"
    )
    harness.start_replica("second")  # same host, new job id
    counts = harness.wait_all_terminal(timeout=60)
    assert counts["success"] == 20
    harness.wait_no_pods(timeout=30)
