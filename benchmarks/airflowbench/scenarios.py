"""The four Airflow scenarios, run one after the other on one executor's deployment (fleet.py).

Each DAG is one task mapped N times; each run of a task appends `<map index> <try>` to the
scenario's side-effect file, then sleeps. Every DAG has its own id, so its pods' names start with
it (`af-steady-...`) whichever executor named them. Figures come from the cluster's audit log
(judge.py) and Airflow's database; CPU from /proc.

1. **steady**: three live schedulers run the DAG.
2. **db**: while the DAG runs, the `job` table is locked for `outage` seconds: every query on it
   (the alive query, heartbeats, Airflow's orphan check) fails after the sessions' lock_timeout,
   the rest of the database answers. Schedulers that exit meanwhile are restarted, one second later.
3. **kill**: the scheduler running the most tasks gets `kill -9` once it runs a few.
4. **race**: one scheduler alone launches the DAG's pods, which wait at a gate; it is killed, the
   gate opens, every task runs and its pod completes; once it is dead for everyone, two fresh
   schedulers start together and race for its completed pods.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.airflowbench import judge
from benchmarks.airflowbench.fleet import SCHEDULERS, Fleet, Timing, log_times
from tests.airflow.harness import q
from tests.ha.invariants import check

DAGS = ("af_steady", "af_db", "af_kill", "af_race")
RACE_VICTIM = "s1"


@dataclass(frozen=True)
class Sizes:
    tasks: int  # tasks per scenario (steady, db, kill)
    race_pods: int
    task_seconds: float
    idle_seconds: float  # the idle window before the steady run (schedulers' CPU with nothing to do)


def prefix(dag_id: str) -> str:
    """How the pods of a DAG's single task are named by every executor (`<dag>-<task>-...`, slugified)."""
    return dag_id.replace("_", "-") + "-work-"


def dag_source(dag_id: str, tasks: int, seconds: float, effects: Path, gate: Path | None = None, slots: int = 0) -> str:
    """A DAG of `tasks` mapped tasks. With `gate`, each pod's container first waits for that file, then
    for one of `slots` lock files (a shell before Python starts: waiting pods cost no memory)."""
    config = ""
    if gate is not None:
        script = (
            f'while [ ! -e "{gate}" ]; do sleep 0.5; done; exec flock "{gate.parent}/slot-$(( $$ % {slots} ))" "$@"'
        )
        config = (
            "(executor_config={'pod_override': k8s.V1Pod(spec=k8s.V1PodSpec(containers=["
            f"k8s.V1Container(name='base', command=['/bin/sh', '-c', {script!r}, 'gate'])]))}})"
        )
    return f'''"""Written by benchmarks/airflowbench/scenarios.py: {tasks} mapped tasks, one side-effect line per run."""

import os
import time

import pendulum
from airflow.sdk import dag, get_current_context, task
from kubernetes.client import models as k8s


@dag(dag_id={dag_id!r}, schedule=None, start_date=pendulum.datetime(2024, 1, 1), catchup=False,
     max_active_tasks={tasks}, default_args={{"retries": 0}})
def bench():
    @task{config}
    def work(i: int) -> int:
        try_number = get_current_context()["ti"].try_number
        fd = os.open({str(effects)!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        os.write(fd, f"{{i}} {{try_number}}\\n".encode())
        os.close(fd)
        time.sleep({seconds!r})
        return i

    work.expand(i=list(range({tasks})))


bench()
'''


def effects_of(f: Fleet, dag_id: str) -> list[str]:
    path = f.af.home / f"effects-{dag_id}.txt"
    return path.read_text().splitlines() if path.exists() else []


def run_timeout(tasks: int) -> float:
    return 180 + 8.0 * tasks


def finish(f: Fleet, dag_id: str, run_id: str, tasks: int, timing: Timing) -> dict[str, Any]:
    """Wait for the run to end and its pods to go (or the grace to pass); what is left."""
    run = f.af.wait_run(dag_id, run_id, timeout=run_timeout(tasks))
    grace = 60 + 3 * timing.interval
    deadline = time.monotonic() + grace
    while f.pods(prefix(dag_id)) and time.monotonic() < deadline:
        time.sleep(1)
    return {"run_state": run["state"], "pods_left": len(f.pods(prefix(dag_id)))}


def common(f: Fleet, records: list[judge.Record], dag_id: str, run_id: str, tasks: int) -> dict[str, Any]:
    """Figures every scenario reports: its task instances, duplicate runs, pod names created twice."""
    mine = lambda name: name.startswith(prefix(dag_id))  # noqa: E731
    return {
        **judge.ti_summary(f.task_instances(dag_id, run_id)),
        **judge.duplicate_runs(effects_of(f, dag_id), tasks),
        "pod_names_created_twice": judge.created_twice(records, mine),
        "pods_created": sum(
            1 for r in records if judge.is_pod(r) and r["verb"] == "create" and r["code"] == 201 and mine(r["name"])
        ),
    }


def audit(f: Fleet) -> list[judge.Record]:
    return judge.attribute(f.cluster.audit(), f.resolver())


# ---- 1. steady state ------------------------------------------------------------------------------
def steady(f: Fleet, sizes: Sizes, timing: Timing) -> dict[str, Any]:
    names = f.running()
    before, t_idle = f.cpu(names), time.time()
    time.sleep(sizes.idle_seconds)
    idle = f.cpu(names)
    t0 = time.time()
    run_id = f.af.trigger("af_steady")
    end = finish(f, "af_steady", run_id, sizes.tasks, timing)
    t1 = time.time()
    after = f.cpu(names)
    records = audit(f)
    cross = judge.cross_writes(records, f.lifetimes(), t0, t1)
    requests = judge.requests_by_verb(records, t0, t1)
    idle_requests = judge.requests_by_verb(records, t_idle, t0)["by_verb"]
    cpu = {n: round(after[n] - idle[n], 2) for n in names}
    return {
        **end,
        **common(f, records, "af_steady", run_id, sizes.tasks),
        "seconds": round(t1 - t0, 1),
        "cross_writes": cross,
        "requests": requests,
        "requests_per_task": judge.per_task(requests["by_verb"], sizes.tasks),
        "scheduler_cpu_s": cpu,
        "cpu_s_per_task": round(sum(cpu.values()) / sizes.tasks, 3),
        "idle_cpu_s_per_s": round(sum(idle[n] - before[n] for n in names) / sizes.idle_seconds, 3),
        "idle_requests_per_s": {k: round(v / (t0 - t_idle), 2) for k, v in idle_requests.items()},
    }


# ---- 2. database trouble --------------------------------------------------------------------------
FALLBACK = "Could not query alive SchedulerJobs"  # 10.17.1+: "... Falling back to exclude-self-only."


def log_lines_between(f: Fleet, needle: str, start: float, end: float) -> int:
    """Scheduler log lines containing `needle` stamped within [start, end] (all incarnations)."""
    return sum(1 for name in SCHEDULERS for t in log_times(f.af.process_log(name), needle) if start <= t <= end)


def db_trouble(f: Fleet, sizes: Sizes, timing: Timing) -> dict[str, Any]:
    t0 = time.time()
    with f.supervised():
        run_id = f.af.trigger("af_db")
        started = max(2, sizes.tasks // 5)
        f.wait(lambda: done_count(f, "af_db", run_id) >= started, run_timeout(sizes.tasks), "tasks to finish")
        t_lock = time.time()
        with f.job_table_locked():
            time.sleep(timing.outage)
        t_unlock = time.time()
        end = finish(f, "af_db", run_id, sizes.tasks, timing)
        wait_all_alive(f, timing)
    t1 = time.time()
    records = audit(f)
    lifetimes = f.lifetimes()
    mine = lambda name: name.startswith(prefix("af_db"))  # noqa: E731
    report = check([r for r in records if t0 <= r["t"] <= t1], lifetimes)
    return {
        **end,
        **common(f, records, "af_db", run_id, sizes.tasks),
        "seconds": round(t1 - t0, 1),
        "outage_s": round(t_unlock - t_lock, 1),
        "cross_writes_during_outage": judge.cross_writes(records, lifetimes, t_lock, t_unlock, mine),
        "cross_writes_whole_run": judge.cross_writes(records, lifetimes, t0, t1, mine),
        "writes_to_live_schedulers_pods": len(report.writes_to_live_owners),
        "fallback_log_lines_during_outage": log_lines_between(f, FALLBACK, t_lock, t_unlock),
        "scheduler_restarts": f.restarts(t_lock),
    }


def done_count(f: Fleet, dag_id: str, run_id: str) -> int:
    return sum(1 for ti in f.task_instances(dag_id, run_id) if ti["state"] in ("success", "failed"))


def wait_all_alive(f: Fleet, timing: Timing) -> None:
    """Every scheduler running, heartbeating and with a working loop (after crashes and restarts)."""
    f.wait(lambda: f.healthy(SCHEDULERS), 240 + 4 * timing.threshold, "every scheduler to be alive again")


# ---- 3. kill -9 -----------------------------------------------------------------------------------
def busiest(f: Fleet, dag_id: str, run_id: str, enough: int) -> tuple[str, int] | None:
    """The scheduler (name, job) with the most running task instances of the run, once it has `enough`."""
    f.resolve_jobs()
    jobs = {i.job: i.name for i in f.incarnations if i.end is None and i.job is not None}
    running = Counter(ti["queued_by_job_id"] for ti in f.task_instances(dag_id, run_id) if ti["state"] == "running")
    best = max(((n, job) for job, n in running.items() if job in jobs), default=None)
    return (jobs[best[1]], best[1]) if best is not None and best[0] >= enough else None


def kill_nine(f: Fleet, sizes: Sizes, timing: Timing) -> dict[str, Any]:
    """kill -9 of the scheduler running the most tasks, once it runs a few."""
    t0 = time.time()
    run_id = f.af.trigger("af_kill")
    enough = max(1, min(timing.parallelism, sizes.tasks // 6) // 2)
    victim, job = f.wait(lambda: busiest(f, "af_kill", run_id, enough), run_timeout(sizes.tasks), "running tasks")
    held = [
        ti
        for ti in f.task_instances("af_kill", run_id)
        if ti["queued_by_job_id"] == job and ti["state"] in ("queued", "running", "scheduled", "restarting")
    ]
    t_kill = f.kill(victim)
    end = finish(f, "af_kill", run_id, sizes.tasks, timing)
    t1 = time.time()
    records = audit(f)
    claims = judge.claims_of(records, str(job), t_kill, lambda n: n.startswith(prefix("af_kill")))
    rows = {ti["map_index"]: ti for ti in f.task_instances("af_kill", run_id)}
    ends = [rows[ti["map_index"]]["end_date"] for ti in held]
    all_done = max(e.timestamp() for e in ends) if ends and all(e is not None for e in ends) else None
    report = check([r for r in records if t0 <= r["t"] <= t1], f.lifetimes())
    return {
        **end,
        **common(f, records, "af_kill", run_id, sizes.tasks),
        "seconds": round(t1 - t0, 1),
        "victim": victim,
        "victim_tasks_at_kill": len(held),
        "victim_pods": claims.pods,
        "first_claim_s": judge.seconds(t_kill, claims.first),
        "last_claim_s": judge.seconds(t_kill, claims.last),
        "victim_tasks_done_s": judge.seconds(t_kill, all_done),
        "claims": claims.summary(),
        "writes_to_live_schedulers_pods": len(report.writes_to_live_owners),
    }


# ---- 4. two survivors race ------------------------------------------------------------------------
def race(f: Fleet, sizes: Sizes, timing: Timing) -> dict[str, Any]:
    for name in f.running():
        f.kill(name)
    f.start_scheduler(RACE_VICTIM, AIRFLOW__CORE__PARALLELISM=str(sizes.race_pods + 8))
    job = f.job_of(RACE_VICTIM)
    f.wait(lambda: f.af.scheduler_job_ids(alive=True).get(RACE_VICTIM) == job, 120, f"{RACE_VICTIM} alive")
    t0 = time.time()
    run_id = f.af.trigger("af_race")
    n = sizes.race_pods
    f.wait(lambda: len(f.pods(prefix("af_race"))) >= n, run_timeout(n), f"{n} pods created by {RACE_VICTIM}")
    t_kill = f.kill(RACE_VICTIM)
    (f.af.home / "race-gate" / "open").touch()
    f.wait(
        lambda: sum(1 for p in f.pods(prefix("af_race")) if p.status.phase == "Succeeded") >= n,
        run_timeout(n),
        "every race pod to complete",
    )
    time.sleep(max(0.0, t_kill + timing.threshold + timing.heartbeat + 1 - time.time()))
    t_start = time.time()
    for name in SCHEDULERS[1:]:
        f.start_scheduler(name)
    deadline = time.monotonic() + 120 + 3 * timing.interval + n
    while f.pods(prefix("af_race")) and time.monotonic() < deadline:
        time.sleep(0.5)
    t_gone = time.time()
    left = len(f.pods(prefix("af_race")))
    records = audit(f)
    claims = judge.claims_of(records, str(job), t_start, lambda n: n.startswith(prefix("af_race")))
    report = check([r for r in records if t0 <= r["t"] <= t_gone], f.lifetimes())
    run = f.af.dag_run("af_race", run_id)
    return {
        "run_state": run["state"],
        "pods_left": left,
        **common(f, records, "af_race", run_id, n),
        "seconds_to_all_pods_gone": round(t_gone - t_start, 1) if not left else None,
        "claims": claims.summary(),
        "first_claim_s": judge.seconds(t_start, claims.first),
        "writes_to_live_schedulers_pods": len(report.writes_to_live_owners),
    }


def fail_unfinished_runs(f: Fleet) -> None:
    """After a scenario failed: mark its DAG runs still running failed, so later scenarios run alone."""
    for dag_id in DAGS:
        for run in f.af.api("GET", f"/dags/{dag_id}/dagRuns?state=running&state=queued")["dag_runs"]:
            f.af.api("PATCH", f"/dags/{dag_id}/dagRuns/{q(run['dag_run_id'])}", {"state": "failed"})


def ensure_running(f: Fleet, timing: Timing) -> None:
    """s1-s3 running (start any that is not, or whose loop failed) and alive for Airflow."""
    for name in SCHEDULERS:
        if name not in f.running():
            f.start_scheduler(name)
        elif not f.healthy([name]) and f.loop_failed(name):
            f.kill(name)
            f.start_scheduler(name)
    wait_all_alive(f, timing)
