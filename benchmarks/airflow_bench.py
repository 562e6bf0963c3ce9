"""Airflow: podherd's executor beside the provider's KubernetesExecutor, same Airflow, same cluster, same load.

Issue 11 §1 and issue 14 item 4. Airflow 3.3.2 with three schedulers (s1, s2, s3) on PostgreSQL
and the embedded cluster in process mode (every task pod runs the real Task SDK). Three executors,
each on a fresh deployment (its own cluster, database and Airflow processes) and each through every
scenario, with the same settings:

- `provider-10.25`: `KubernetesExecutor` from apache-airflow-providers-cncf-kubernetes 10.25.0
  (has the seed's alive-scoped selector, #66400);
- `provider-10.17`: the same executor from 10.17.0 (before #66400: the "thrash" version);
- `podherd`: `podherd.airflow.PodherdExecutor`.

Scenarios (benchmarks/airflowbench/scenarios.py and sweep.py say exactly what each does):

1. `steady`: cross-scheduler PATCH and DELETE, API requests per task by verb, pods left, and the
   schedulers' CPU seconds per task (each scheduler's whole process group);
2. `kill`: kill -9 of the scheduler running the most tasks: time to the first claim of its pods and until all its
   task instances are done, duplicate runs, pods left;
3. `db`: the `job` table refuses queries for `--outage` seconds while tasks finish (Airflow's
   sessions run with lock_timeout 2 s and the table is locked): cross-scheduler writes;
4. `race`: two fresh schedulers start together after a scheduler holding `--race-pods` completed
   pods died: claims won per pod, redundant writes;
5. `sweep`: one completed-pod sweep with 10,000 pods in the namespace, on each executor's sweep code
   path (not whole schedulers): bytes received and client CPU.

Every count comes from the cluster's audit log (each scheduler has its own User-Agent) and Airflow's
database; CPU from /proc. The venvs come from `scripts/airflow-env.sh current thrash` (built on
first use).

    python benchmarks/airflow_bench.py            # 200 tasks per scenario, 10,000-pod sweep (1.5-2 hours on 2 cores)
    python benchmarks/airflow_bench.py --quick    # 9 tasks per scenario, shorter timings (7 minutes), to a temp dir
    python benchmarks/airflow_bench.py --executors podherd --scenarios steady,kill
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/airflow_bench.py`: make the checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.airflowbench import fleet, postgres, report, scenarios
from benchmarks.airflowbench.fleet import EXECUTORS, SCHEDULERS, BenchDeployment, ExecutorSpec, Fleet, Timing
from benchmarks.airflowbench.scenarios import DAGS, Sizes
from benchmarks.common import output_dir, publish, results_doc

RESULTS = Path(__file__).resolve().parent / "results"
SCENARIOS = ("steady", "db", "kill", "race", "sweep")
FULL = {"tasks": 200, "race_pods": 200, "heartbeat": 5.0, "threshold": 30.0, "interval": 5.0, "outage": 20.0,
        "parallelism": 4, "idle": 20.0, "sweep_pods": 10_000, "sweep_repeats": 5}  # fmt: skip
QUICK = {"tasks": 9, "race_pods": 9, "heartbeat": 2.0, "threshold": 15.0, "interval": 3.0, "outage": 8.0,
         "parallelism": 3, "idle": 5.0, "sweep_pods": 2_000, "sweep_repeats": 2}  # fmt: skip
NOTES = [
    "`orphaned_tasks_check_interval` is lowered from its default of 300 s for every executor, as a user would to "
    "see the provider's sweeps at all: the provider adopts completed pods and Airflow resets orphaned tasks only "
    "that often, so with 300 s neither would happen within a run.",
    "Scheduler CPU is the whole Airflow scheduler (its loop, the executor, the provider's Manager and watcher "
    "processes) from the trigger until every pod is gone, over the tasks of the run; the schedulers' idle CPU per "
    "second is given apart. The task pods' CPU is not included (the same Task SDK runs in each).",
    "The provider's watch restarts (a client-side 30 s timeout, no bookmarks) abandon requests the audit log "
    "never sees: its watch counts are a lower bound.",
    "Database trouble: the `job` table is locked (ACCESS EXCLUSIVE) and Airflow's sessions run with "
    "lock_timeout 2 s, so every query on it fails: the provider's alive query (it then falls back to "
    "`airflow-worker!=<me>`), heartbeats (logged, the loop goes on), and Airflow's own orphan check, which gives up "
    "after three tries and takes the scheduler down; a stand-in supervisor restarts it a second later (a new job "
    "id). Stopping PostgreSQL instead would take every scheduler down before any sweep ran. A write counts as "
    "to a live scheduler's pod when the owner's process was still running and Airflow's loop in it had not "
    "exited (its executor's end() done).",
    "podherd's periodic requests are per scheduler, not per task: a Lease list every half heartbeat (liveness that "
    "does not depend on the loop) and a Lease update every heartbeat, and per sweep one list per terminal phase "
    "(Succeeded, Failed) plus one of kept done pods; the provider lists once per sweep. Over a short run they weigh "
    "on the requests per task; the steady scenario's idle requests per second give them apart.",
    "The provider deletes a finished pod once for every watch event that shows it finished (its status write, the "
    "deletionTimestamp write, the DELETED event): up to 3 DELETEs a pod, the later ones answered 404. They count in "
    "its requests per task and, in the race, as redundant writes beside its double claims.",
    "podherd judges a Lease by when it last saw it change (client-go's rule, immune to clock skew): a scheduler that "
    "has just started trusts a Lease it has never seen change for one lease duration, so in the race its first "
    "claim comes about one threshold after it starts; the provider trusts the job table's heartbeat at once. After "
    "a kill -9 among running schedulers, podherd's Lease (renewed by its own thread, not by the loop) expires a "
    "threshold after the kill, while the provider's heartbeat, written by the loop, may already be seconds old.",
    "The race's pods wait at a gate (a shell before Python starts) and then run through a limited number of slots, "
    "so that hundreds of them fit in memory; each completes after its owner's kill -9, and two fresh schedulers "
    "start together once it is dead for everyone.",
    "Sweep cost is measured on each executor's sweep code path against a stored namespace (no kubelet), not by "
    "whole schedulers: list + claims, the claims handed over, not recorded; 10.25.0's alive query is answered "
    "without the database. A sweep's bytes include the claims' responses (each PATCH returns the pod).",
]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--executors", default=",".join(report.ORDER), help=f"from {', '.join(EXECUTORS)}")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"from {', '.join(SCENARIOS)}")
    ap.add_argument("--tasks", type=int, help="tasks per scenario (default 200; --quick 9)")
    ap.add_argument("--race-pods", type=int, help="completed pods the survivors race for (default 200; --quick 9)")
    ap.add_argument("--task-seconds", type=float, default=1.0, help="each task's sleep (default 1)")
    ap.add_argument("--heartbeat", type=float, help="scheduler_heartbeat_sec (default 5; --quick 2)")
    ap.add_argument("--threshold", type=float, help="scheduler_health_check_threshold (default 30; --quick 15)")
    ap.add_argument("--interval", type=float, help="orphaned_tasks_check_interval (default 5; --quick 3)")
    ap.add_argument("--outage", type=float, help="seconds the job table refuses queries (default 20; --quick 8)")
    ap.add_argument("--parallelism", type=int, help="[core] parallelism of each scheduler (default 4; --quick 3)")
    ap.add_argument("--idle", type=float, help="idle seconds measured before the steady run (default 20; --quick 5)")
    ap.add_argument("--sweep-pods", type=int, help="pods in the swept namespace (default 10,000; --quick 2,000)")
    ap.add_argument("--sweep-repeats", type=int, help="measured sweeps per executor (default 5; --quick 2)")
    ap.add_argument("--quick", action="store_true", help="small and fast; writes to a temporary directory unless --out")
    ap.add_argument("--keep", action="store_true", help="keep the working directory (logs, audit logs, databases)")
    ap.add_argument("--out", type=Path, help=f"output directory (default {RESULTS.relative_to(RESULTS.parents[1])})")
    args = ap.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    args.executor_list = [e.strip() for e in args.executors.split(",") if e.strip()]
    args.scenario_list = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if set(args.executor_list) - set(EXECUTORS) or not args.executor_list:
        ap.error(f"--executors: choose from {', '.join(EXECUTORS)}")
    if set(args.scenario_list) - set(SCENARIOS) or not args.scenario_list:
        ap.error(f"--scenarios: choose from {', '.join(SCENARIOS)}")
    if args.tasks < 3 or args.race_pods < 1 or args.threshold <= args.heartbeat or args.outage >= args.threshold:
        ap.error("need --tasks >= 3, --race-pods >= 1, --threshold > --heartbeat and --outage < --threshold")
    args.out = output_dir(args.out, args.quick, "airflow", RESULTS)
    return args


def run_executor(
    spec: ExecutorSpec, args: argparse.Namespace, admin_url: str, template: str, work: Path
) -> dict[str, Any]:
    """One executor on a fresh deployment, through the Airflow scenarios asked for (in this order)."""
    from tests.airflow.harness import start_embedded_cluster

    timing = Timing(args.heartbeat, args.threshold, args.interval, args.outage, args.parallelism)
    sizes = Sizes(args.tasks, args.race_pods, args.task_seconds, args.idle)
    env = fleet.airflow_env(spec)
    cluster = start_embedded_cluster(work / "k8s")
    db = postgres.database_for(admin_url, template, spec.key)
    home = work / "airflow"
    gate = home / "race-gate" / "open"
    dags = {
        f"{dag}.py": scenarios.dag_source(
            dag,
            sizes.race_pods if dag == "af_race" else sizes.tasks,
            sizes.task_seconds,
            home / f"effects-{dag}.txt",
            gate if dag == "af_race" else None,
            slots=timing.parallelism * len(SCHEDULERS),
        )
        for dag in DAGS
    }
    af = BenchDeployment(
        env=env,
        home=home,
        kubeconfig=cluster.kubeconfig,
        executor=spec.executor,
        db_url=postgres.sqlalchemy_url(admin_url, db),
        config=timing.airflow_cfg(),
        dag_files=(),
        extra_dags=dags,
    )
    home.mkdir(parents=True)
    gate.parent.mkdir()
    af.write_files()
    af.prepared = True  # the database is a copy of the migrated template
    f = Fleet(spec, af, cluster, postgres.plain_dsn(admin_url, db))
    out: dict[str, Any] = {"label": spec.label, "provider": spec.provider}
    steps: dict[str, Callable[[Fleet, Sizes, Timing], dict[str, Any]]] = {
        "steady": scenarios.steady,
        "db": scenarios.db_trouble,
        "kill": scenarios.kill_nine,
        "race": scenarios.race,
    }
    try:
        try:
            out["boot_s"] = round(f.boot(DAGS), 1)
        except Exception as e:  # nothing to measure on this deployment: say why and go on with the next
            out["error"] = f"{type(e).__name__}: {e}"[:6000]
            print(f"{spec.key}: deployment failed: {out['error'][:2000]}", flush=True)
            return out
        for name, step in steps.items():
            if name not in args.scenario_list:
                continue
            t = time.monotonic()
            try:
                if name != "race":
                    scenarios.ensure_running(f, timing)
                out[name] = step(f, sizes, timing)
            except Exception as e:  # report it and go on: one stuck scenario must not cost the whole run
                out[name] = {"error": f"{type(e).__name__}: {e}"[:6000]}
                with contextlib.suppress(Exception):
                    scenarios.fail_unfinished_runs(f)
            print(f"{spec.key} {name}: {time.monotonic() - t:.0f} s {summary_line(out[name])}", flush=True)
    finally:
        f.stop()
        cluster.stop()
    return out


def summary_line(s: dict[str, Any]) -> str:
    if "error" in s:
        return "ERROR " + s["error"].splitlines()[0][:300]
    keys = ("run_state", "pods_left", "tasks_run_twice_or_more", "cpu_s_per_task", "first_claim_s")
    return str({k: s[k] for k in keys if k in s})


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    specs = [EXECUTORS[k] for k in report.ORDER if k in args.executor_list]
    work = Path(tempfile.mkdtemp(prefix="podherd-airflow-bench-"))
    started = time.monotonic()
    results = results_doc(
        "airflow_bench",
        argv,
        args.quick,
        setup={
            "airflow": "3.3.2",
            "schedulers": list(SCHEDULERS),
            "tasks": args.tasks,
            "race_pods": args.race_pods,
            "task_seconds": args.task_seconds,
            "heartbeat": args.heartbeat,
            "threshold": args.threshold,
            "interval": args.interval,
            "outage": args.outage,
            "parallelism": args.parallelism,
            "idle_seconds": args.idle,
            "lock_timeout": postgres.LOCK_TIMEOUT,
        },
        executors={},
        notes=NOTES,
    )
    try:
        airflow = [s for s in args.scenario_list if s != "sweep"]
        if airflow:
            run_airflow(specs, args, work, results)
        if "sweep" in args.scenario_list:
            from benchmarks.airflowbench.sweep import sweep_cost

            results["sweep"] = sweep_cost(specs, args.sweep_pods, args.sweep_repeats, work / "sweep")
    finally:
        if args.keep:
            print(f"kept the working directory {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["seconds"] = round(time.monotonic() - started)
    publish(results, "airflow", args.out, report.render, report.plot)
    return results


def run_airflow(specs: list[ExecutorSpec], args: argparse.Namespace, work: Path, results: dict[str, Any]) -> None:
    """PostgreSQL, the migrated template database, then each executor on its own deployment."""
    from tests.conftest import start_postgres

    pgdir = work / "pg"
    pgdir.mkdir()
    pgdir.chmod(0o755)  # reachable by the unprivileged server user when we are root
    work.chmod(0o755)
    pg, admin_url = start_postgres(pgdir)
    try:
        template = postgres.make_template(
            admin_url, fleet.airflow_env(EXECUTORS["podherd"]), work / "template", work / "none"
        )
        for spec in specs:
            results["executors"][spec.key] = run_executor(spec, args, admin_url, template, work / spec.key)
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
