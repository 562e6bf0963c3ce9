"""`PodherdExecutor`'s guarantees in real Airflow 3.3.2 with several schedulers, judged from the audit log.

- two schedulers on PostgreSQL, one killed with `kill -9` mid-run: every task's side effect exactly
  once, no pod name created twice, no write to a live scheduler's pods (tests/ha/invariants.py),
  0 pods left, and the takeover bound: the survivor's first claim of the dead scheduler's pods
  within `scheduler_health_check_threshold + 2 * scheduler_heartbeat_sec` of the kill (the
  provider waits for `orphaned_tasks_check_interval`, 300 s by default);
- PostgreSQL stopped for 20 s under two schedulers: no claim of a live scheduler's pod.

Every scheduler's requests carry `podherd/<v> (replica <job id>) airflow/<name>`, so the invariant
checker tells them apart exactly as it does for standalone replicas.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.conftest import AirflowFactory
from tests.airflow.harness import (
    API_SERVER,
    DAG_PROCESSOR,
    PODHERD_EXECUTOR,
    AirflowDeployment,
    AirflowEnv,
    Supervisor,
)
from tests.conftest import start_postgres
from tests.ha.harness import Harness
from tests.ha.invariants import Lifetime, Report, audit_time, check, replica_of

pytestmark = [pytest.mark.airflow, pytest.mark.integration, pytest.mark.postgres, pytest.mark.timeout(900)]

HEARTBEAT = 2.0
THRESHOLD = 8.0
HA_CONFIG = {
    "core": {"parallelism": "6"},  # each scheduler takes part of the DAG
    "scheduler": {
        "scheduler_heartbeat_sec": str(HEARTBEAT),
        "scheduler_health_check_threshold": str(THRESHOLD),
        "orphaned_tasks_check_interval": "300",  # Airflow's own adoption does not come in time: podherd's must
    },
    "kubernetes_executor": {"worker_pods_creation_batch_size": "8"},
}
DAG_ID = "podherd_effects"


def effects_dag(dag_id: str, tasks: int, seconds: float, effects: Path, release: Path | None = None) -> str:
    """A DAG of `tasks` mapped tasks; each appends its index to `effects` once it starts, then sleeps
    `seconds`, then (with `release`) waits until that file exists: up to 10 minutes."""
    return f'''"""Written by tests/airflow/test_podherd_ha.py: side effects to count, one line per task run."""

import os
import time

import pendulum
from airflow.sdk import dag, task


@dag(dag_id={dag_id!r}, schedule=None, start_date=pendulum.datetime(2024, 1, 1), catchup=False,
     max_active_tasks={tasks}, default_args={{"retries": 0}})
def effects():
    @task
    def work(i: int) -> int:
        fd = os.open({str(effects)!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        os.write(fd, f"{{i}}\\n".encode())
        os.close(fd)
        time.sleep({seconds!r})
        release, deadline = {str(release) if release else None!r}, time.monotonic() + 600
        while release and not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.2)
        return i

    work.expand(i=list(range({tasks})))


effects()
'''


def new_database(admin_url: str, name: str) -> str:
    """Create database `name` on the server of `admin_url`; its `postgresql+psycopg` URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url)
    with psycopg.connect(
        admin.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True
    ) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return admin.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def effect_counts(path: Path) -> Counter[str]:
    return Counter(path.read_text().split()) if path.exists() else Counter()


def running_by(af: AirflowDeployment, run_id: str, job_id: int) -> int:
    """Task instances of the run in state running that `job_id` queued (from the DB)."""
    from sqlalchemy import text

    engine = af.db_engine()
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM task_instance WHERE run_id = :r AND state = 'running'"
                        " AND queued_by_job_id = :j"
                    ),
                    {"r": run_id, "j": job_id},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def creators(records: list[dict[str, Any]]) -> dict[str, str]:
    """Pod name -> the replica (job id) whose create was accepted."""
    return {
        r["name"]: replica_of(r) or "?"
        for r in records
        if r["resource"] == "pods" and r["verb"] == "create" and r["code"] == 201
    }


def cross_writes(records: list[dict[str, Any]], by: str, of: str) -> list[dict[str, Any]]:
    """Accepted PATCH/DELETE of replica `by` on pods replica `of` created."""
    made = creators(records)
    return [
        r
        for r in records
        if r["resource"] == "pods"
        and not r.get("subresource")
        and r["verb"] in ("patch", "delete")
        and 200 <= int(r["code"]) < 300
        and replica_of(r) == by
        and made.get(r["name"]) == of
    ]


def judge(records: list[dict[str, Any]], lifetimes: dict[str, Lifetime], effects: Path, tasks: int) -> Report:
    report = check(records, lifetimes, effect_counts(effects).elements(), [str(i) for i in range(tasks)])
    assert report.ok, report.summary()
    return report


# ---- two schedulers, one killed with -9 ----------------------------------------------------------------


def test_two_schedulers_postgres_kill_dash_nine(
    airflow_env: AirflowEnv,
    embedded_cluster: Harness,
    airflow_factory: AirflowFactory,
    airflow_postgres_url: str,
    tmp_path: Path,
) -> None:
    tasks, effects = 12, tmp_path / "effects.txt"
    af = airflow_factory(
        airflow_env,
        executor=PODHERD_EXECUTOR,
        db_url=airflow_postgres_url,
        config=HA_CONFIG,
        dag_files=(),
        extra_dags={f"{DAG_ID}.py": effects_dag(DAG_ID, tasks, 25.0, effects)},
    )
    started = time.time()
    af.start(schedulers=2, dag_ids=(DAG_ID,))
    jobs = af.scheduler_job_ids(alive=True)
    s1, s2 = str(jobs["s1"]), str(jobs["s2"])
    run_id = af.trigger(DAG_ID)
    af.wait_for(lambda: running_by(af, run_id, int(s1)) >= 2, 180, "s1's tasks to be running")
    af.wait_for(lambda: set(creators(embedded_cluster.audit()).values()) == {s1, s2}, 60, "both to launch pods")
    killed_at = af.kill("s1")

    run = af.wait_run(DAG_ID, run_id, timeout=300)
    assert run["state"] == "success"
    tis = af.task_instances(DAG_ID, run_id)
    assert len(tis) == tasks and {(ti["state"], ti["try_number"]) for ti in tis.values()} == {("success", 1)}
    af.wait_for(lambda: not embedded_cluster.pods(), 60, "every pod to be deleted")

    records = embedded_cluster.audit()
    report = judge(records, {s1: Lifetime(started, killed_at), s2: Lifetime(started)}, effects, tasks)
    claims = [r for r in cross_writes(records, s2, s1) if r["verb"] == "patch"]
    assert claims, "the survivor claimed the dead scheduler's pods"
    takeover = min(audit_time(r["time"]) for r in claims) - killed_at
    before = [r for r in cross_writes(records, s2, s1) if audit_time(r["time"]) < killed_at]
    assert before == [], "no write to a live scheduler's pods"
    made = Counter(creators(records).values())
    print(
        f"\nkill -9 with 2 schedulers: pods created {dict(made)}, takeover {takeover:.1f}s after the kill "
        f"(bound {THRESHOLD + 2 * HEARTBEAT:g}s), cross-scheduler writes while alive: {len(before)}, "
        f"after the death: {len(cross_writes(records, s2, s1))} ({len(claims)} claims), "
        f"writes by verb {dict(report.writes_by_verb)}"
    )
    assert takeover <= THRESHOLD + 2 * HEARTBEAT, f"takeover took {takeover:.1f}s"


# ---- PostgreSQL stopped for 20 s ---------------------------------------------------------------------------


def test_postgres_stopped_for_20s_no_claims_of_live_schedulers_pods(
    airflow_env: AirflowEnv, embedded_cluster: Harness, airflow_factory: AirflowFactory, tmp_path: Path
) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="podherd-af-pg-"))  # reachable by the unprivileged server user
    os.chmod(workdir, 0o755)
    executor, admin_url = start_postgres(workdir)
    try:
        _postgres_outage(airflow_env, embedded_cluster, airflow_factory, tmp_path, admin_url, executor)
    finally:
        executor.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def scheduler_lifetimes(af: AirflowDeployment, sup: Supervisor) -> dict[str, Lifetime]:
    """Job id -> when its scheduler process ran: the incarnation (by hostname) its job row started in."""
    from sqlalchemy import text

    engine = af.db_engine()
    try:
        with engine.connect() as conn:
            jobs = list(conn.execute(text("SELECT id, hostname, start_date FROM job WHERE job_type = 'SchedulerJob'")))
    finally:
        engine.dispose()
    out: dict[str, Lifetime] = {}
    for job_id, hostname, start_date in jobs:
        t = start_date.timestamp()
        for began, ended in sup.incarnations.get(hostname, []):
            if began is not None and began <= t and (ended is None or t <= ended):
                out[str(job_id)] = Lifetime(began, ended)
    assert set(out) == {str(j) for j, _h, _s in jobs}, f"every scheduler job has its process: {jobs} {sup.incarnations}"
    return out


def _postgres_outage(
    airflow_env: AirflowEnv,
    embedded_cluster: Harness,
    airflow_factory: AirflowFactory,
    tmp_path: Path,
    admin_url: str,
    pg: Any,
) -> None:
    """Airflow's scheduler, API server and DAG processor exit when the database goes (their supervisor
    restarts them, here `Supervisor`); the task pods keep running. Judged over the whole episode:
    the outage, the crashes, the restarts, the takeover by the new scheduler jobs."""
    tasks, effects = 8, tmp_path / "effects.txt"
    af = airflow_factory(
        airflow_env,
        executor=PODHERD_EXECUTOR,
        db_url=new_database(admin_url, "airflow_outage"),
        config=HA_CONFIG,
        dag_files=(),
        # Long enough that no task ends while the database, or Airflow's API server after it, is down.
        extra_dags={f"{DAG_ID}.py": effects_dag(DAG_ID, tasks, 75.0, effects)},
    )
    started = time.time()
    af.start(schedulers=2, dag_ids=(DAG_ID,))
    sup = Supervisor(af, ["s1", "s2", API_SERVER, DAG_PROCESSOR], since=started)
    sup.start()
    try:
        run_id = af.trigger(DAG_ID)
        first = {name: str(job) for name, job in af.scheduler_job_ids(alive=True).items()}
        af.wait_for(
            lambda: set(creators(embedded_cluster.audit()).values()) == set(first.values()), 120, "pods of both"
        )
        # Every task body has started, so each has passed its Task SDK start call: a pod that only
        # starts during the outage fails on Airflow's API server (down with the database), whatever
        # the executor, and the test is about the schedulers' writes, not about that.
        af.wait_for(lambda: len(effect_counts(effects)) >= tasks, 180, "every task to start")
        stopped = time.time()
        pg.stop()
        time.sleep(20)
        pg.start()
        back = time.time()
        run = af.wait_run(DAG_ID, run_id, timeout=400)
        af.wait_for(lambda: not embedded_cluster.pods(), 90, "every pod to be deleted")
    finally:
        sup.stop()
    records = embedded_cluster.audit()
    lifetimes = scheduler_lifetimes(af, sup)
    report = judge(records, lifetimes, effects, tasks)
    during = [r for r in records if r["verb"] == "patch" and stopped <= audit_time(r["time"]) <= back]
    print(
        f"\nPostgreSQL stopped 20 s under 2 schedulers: restarts {sup.restarts()}, scheduler jobs {sorted(lifetimes)}, "
        f"run {run['state']}, pod PATCHes during the outage {len(during)}, "
        f"writes to live schedulers' pods {len(report.writes_to_live_owners)}, writes {dict(report.writes_by_verb)}"
    )
    assert report.writes_to_live_owners == []
    assert run["state"] == "success"
