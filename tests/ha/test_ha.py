"""High availability with real replica processes, on SQLite and PostgreSQL, at rest and under load.

Every scenario is judged by one checker (tests/ha/invariants.py) over the API server's audit
log and the tasks' side-effect file: no pod name created twice, no accepted write by a replica
to a pod a live replica owns, every side effect exactly once. "stress" runs each scenario with a
busy-loop process per core and 25 ms added to every API request.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import start_postgres
from tests.ha.harness import HEARTBEAT, THRESHOLD, CpuStress, Harness, effect_task, sim_task
from tests.ha.scenarios import two_survivors_race

pytestmark = pytest.mark.integration

STRESS_ARGS = ("--fault", "latency_ms=25")


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ha.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(params=["rest", "stress"])
def load(request: pytest.FixtureRequest) -> Iterator[str]:
    """`stress`: a busy process per core for the whole scenario, plus API latency (see `harness`)."""
    if request.param == "stress":
        with CpuStress():
            yield "stress"
    else:
        yield "rest"


def new_harness(tmp_path: Path, db_url: str, load: str, mode: str = "simulate") -> Harness:
    h = Harness(tmp_path, db_url, mode=mode, cluster_args=STRESS_ARGS if load == "stress" else ())
    h.effects_path = tmp_path / "effects.txt"
    h.start_cluster()
    return h


@pytest.fixture
def harness(tmp_path: Path, db_url: str, load: str) -> Iterator[Harness]:
    h = new_harness(tmp_path, db_url, load)
    yield h
    h.stop()


@pytest.fixture
def process_harness(tmp_path: Path, db_url: str, load: str) -> Iterator[Harness]:
    """Pods run as real processes, so every task leaves a side effect to count."""
    h = new_harness(tmp_path, db_url, load, mode="process")
    yield h
    h.stop()


def replica_ids(h: Harness) -> set[str]:
    return {rid for r in h.audit() if (rid := h.replica_of(r))}


def completed_pods(h: Harness) -> int:
    return sum(1 for p in h.pods() if p.status.phase in ("Succeeded", "Failed"))


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
    counts = harness.wait_all_terminal(timeout=240)
    assert counts["success"] == 300 and counts["failed"] == 0
    harness.wait_no_pods(timeout=60)  # with delete false: kept done pods go after their retention
    assert len(replica_ids(harness)) == 3  # all three did work
    report = harness.assert_invariants()
    assert report.creates == 300
    assert harness.cross_replica_patches() == [], "not even a refused write to a sibling's pod"
    if delete_pods == "false":
        assert harness.pod_patches(), "kept pods are labelled done with a PATCH by their owner"


# ---- regression guard: the pre-fix policy does thrash in the same harness, and the checker sees it --


def test_exclude_self_policy_thrashes_in_the_same_harness(tmp_path: Path) -> None:
    """Airflow 10.15's policy (exclude only myself, blind relabel) writes live replicas' pods: > 0."""
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
        counts = h.wait_all_terminal(timeout=240)
        assert counts["success"] == 300  # still correct, just wasteful
        report = h.check_invariants()
        assert report.writes_to_live_owners, "the checker must see the thrash"
        assert not report.duplicate_creates
    finally:
        h.stop()


# ---- 2. kill -9 mid-run: exactly-once side effects, fast takeover ------------------------------------


def test_kill_dash_nine_mid_run(process_harness: Harness) -> None:
    h = process_harness
    names = [f"k{i}" for i in range(45)]
    assert h.effects_path is not None
    h.submit([effect_task(n, h.effects_path, seconds=4) for n in names])
    for name in ("a", "b", "c"):
        h.start_replica(name, core__parallelism="15")
    h.wait_for(lambda: len(set(h.creators().values())) == 3, 90, "every replica to launch pods")
    h.wait_for(lambda: h.counts()["running"] >= 40, 90, "tasks to be running")
    victim = h.job_id("a")
    assert victim is not None
    killed_at = h.kill("a")
    counts = h.wait_all_terminal(timeout=240)
    assert counts["success"] == 45 and counts["failed"] == 0
    h.wait_no_pods(timeout=60)
    h.assert_invariants(expected_effects=names)
    # takeover: the first claim of a dead replica's pod by a survivor
    claims = [
        r
        for r in h.pod_patches()
        if h.creators().get((r["namespace"], r["name"])) == victim and h.replica_of(r) != victim
    ]
    assert claims, "the survivors claimed the dead replica's pods"
    latency = min(_ts(r["time"]) for r in claims) - killed_at
    print(f"takeover latency {latency:.2f}s")
    assert latency <= THRESHOLD + 2 * HEARTBEAT, f"takeover took {latency:.2f}s"


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# ---- 3. two survivors race for 200 completed pods ----------------------------------------------------


def test_two_survivors_race_for_200_completed_pods(process_harness: Harness) -> None:
    result = two_survivors_race(process_harness, pods=200)
    assert result.duplicate_creates == 0, "no pod name created twice"
    assert result.effects_not_once == 0, "every task's side effect exactly once"
    assert result.writes_to_live_owners == 0
    assert result.succeeded == 200
    assert result.claims_won == 200 and result.pods_claimed_twice == 0, "each pod claimed exactly once"
    assert result.deletes == 200 and result.redundant_deletes == 0, "each pod deleted once, no redundant call"
    assert result.pods_left == 0
    process_harness.assert_invariants()


# ---- 4. PostgreSQL stopped for 20 s under load -------------------------------------------------------


def test_postgres_outage_under_load(tmp_path: Path, load: str) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="podherd-pg-outage-"))  # reachable by the unprivileged server user
    executor, admin_url = start_postgres(workdir)
    h = new_harness(tmp_path, admin_url, load)
    try:
        h.submit([sim_task(f"p{i}", seconds=1) for i in range(300)])
        for name in ("a", "b", "c"):
            h.start_replica(name, core__parallelism="20")
        h.wait_for(lambda: h.counts()["success"] >= 30, 90, "some progress before the outage")
        h.engine.dispose()
        executor.stop()
        time.sleep(20)
        executor.start()
        assert all(p.poll() is None for p in h.replicas.values()), "every replica survived the outage"
        counts = h.wait_all_terminal(timeout=240)
        assert counts["success"] == 300 and counts["failed"] == 0
        h.wait_no_pods(timeout=60)
        h.assert_invariants()
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
    harness.wait_for(lambda: len(harness.creators()) == 20, 90, "pods created")
    harness.kill("first", how)
    harness.wait_for(lambda: completed_pods(harness) == 20, 90, "pods completed")
    harness.start_replica("second")  # same host, new job id
    counts = harness.wait_all_terminal(timeout=90)
    assert counts["success"] == 20
    harness.wait_no_pods(timeout=30)
    harness.assert_invariants()
