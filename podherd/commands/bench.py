"""`podherd bench thrash|sweep|throughput|race|scale|profile|airflow`: run the reproducible benchmarks in `benchmarks/`.

The benchmark scripts live in the source checkout, not in the installed package (they need
matplotlib and write into `benchmarks/results/`, or with `--quick` into a new temporary
directory), so this command finds them next to the `podherd` package and calls their
`main(argv)` in this process. `--quick` and `--out` are podherd's options; every other option
is forwarded to the script unchanged.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import typer

from podherd.commands.common import fail

SCRIPTS = {
    "thrash": "thrash",
    "sweep": "sweep_cost",
    "throughput": "throughput",
    "race": "race",
    "scale": "scale",
    "profile": "replica_profile",
    "airflow": "airflow_bench",
}
FORWARD = {"allow_extra_args": True, "ignore_unknown_options": True}

app = typer.Typer(
    help=(
        "Reproducible benchmarks (from a source checkout): adoption thrash, sweep cost, throughput, claim race, scale, "
        "where a replica's CPU goes, podherd's Airflow executor beside the provider's. "
        "Results go to benchmarks/results/ (JSON, Markdown, PNG); see docs/performance.md."
    ),
    no_args_is_help=True,
)

QUICK = typer.Option(
    False, "--quick", help="Small sizes, for a sanity check; to a temporary directory unless --out is given."
)
OUT = typer.Option(
    None,
    "--out",
    help="Directory for the JSON, Markdown and PNG (default: benchmarks/results/; --quick: a new temporary one).",
)
QUICK_SCALE = typer.Option(
    False, "--quick", help="1,500 and 3,000 pods: a few minutes; to a temporary directory unless --out is given."
)
QUICK_AIRFLOW = typer.Option(
    False,
    "--quick",
    help="9 tasks per scenario, shorter liveness timings, a 2,000-pod sweep: about 7 minutes on 2 cores; "
    "to a temporary directory unless --out is given.",
)
SCRIPT_HELP = typer.Option(False, "--script-help", help="Show every option of the benchmark script and exit.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="bench")


def load(name: str) -> ModuleType:
    """Import `benchmarks.<script>`, from the checkout this podherd was installed (editable) from."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "benchmarks" / "__init__.py").is_file() and str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))  # spawned benchmark processes inherit sys.path
    try:
        return importlib.import_module(f"benchmarks.{SCRIPTS[name]}")
    except ModuleNotFoundError as e:
        if e.name not in ("benchmarks", f"benchmarks.{SCRIPTS[name]}"):
            raise
        fail("the benchmarks are in podherd's source checkout: install it from a clone (pip install -e '.[bench]')")


def run(name: str, ctx: typer.Context, quick: bool, out: Path | None, script_help: bool) -> None:
    mod = load(name)
    argv = [*(["--quick"] if quick else []), *(["--out", str(out)] if out else []), *ctx.args]
    if script_help:
        argv = ["--help"]
    prog, sys.argv[0] = sys.argv[0], f"podherd bench {name}"  # argparse names the program after argv[0]
    try:
        mod.main(argv)
    except SystemExit as e:  # argparse: --help (0) or a bad forwarded option (2, message already printed)
        raise typer.Exit(int(e.code or 0)) from None
    finally:
        sys.argv[0] = prog


@app.command("thrash", context_settings=FORWARD)
def thrash(ctx: typer.Context, quick: bool = QUICK, out: Path | None = OUT, script_help: bool = SCRIPT_HELP) -> None:
    """Adoption policies (exclude-self, alive-scoped, podherd) under the same churn, with one replica killed -9.

    Reports PATCH/min, DELETE/min, redundant writes, pods left and takeover latency per policy, read from the cluster's audit log.

    Other options go to benchmarks/thrash.py: --replicas 1,3,5 --policies --rate --duration --drain --task-seconds --sweep-interval --threshold --heartbeat --kill-at --latency-ms --parallelism (see --script-help).
    """
    run("thrash", ctx, quick, out, script_help)


@app.command("sweep", context_settings=FORWARD)
def sweep(ctx: typer.Context, quick: bool = QUICK, out: Path | None = OUT, script_help: bool = SCRIPT_HELP) -> None:
    """Cost of one completed-pod sweep in namespaces of 1k/10k/50k pods: pre-#35599 models vs metadata-only vs podherd.

    Reports time, bytes received and client peak memory of each way, and the ratio (a)/(c).

    Other options go to benchmarks/sweep_cost.py: --sizes 1000,10000,50000 --repeats (see --script-help).
    """
    run("sweep", ctx, quick, out, script_help)


@app.command("throughput", context_settings=FORWARD)
def throughput(
    ctx: typer.Context, quick: bool = QUICK, out: Path | None = OUT, script_help: bool = SCRIPT_HELP
) -> None:
    """10,000 short tasks with 1 and 3 replicas against a bare create+delete client on the same cluster.

    Reports tasks/min, API writes per task, event-to-DB latency p50/p99, loop time p99, peak RSS per replica and the ratio podherd/limit.

    Other options go to benchmarks/throughput.py: --tasks --replicas 1,3 --parallelism --seed (see --script-help).
    """
    run("throughput", ctx, quick, out, script_help)


@app.command("race", context_settings=FORWARD)
def race(ctx: typer.Context, quick: bool = QUICK, out: Path | None = OUT, script_help: bool = SCRIPT_HELP) -> None:
    """The two-survivors claim race, 20 times on SQLite and on PostgreSQL, under CPU stress and API latency.

    Reports, per database, runs passed and every invariant figure from the audit log and the side-effect file: pod names created twice, writes to live replicas' pods, side effects not exactly once, pods claimed twice, redundant deletes, pods left.

    Other options go to benchmarks/race.py: --runs --pods --db sqlite,postgres --no-stress (see --script-help). --quick writes to a temporary directory unless --out is given.
    """
    run("race", ctx, quick, out, script_help)


@app.command("scale", context_settings=FORWARD)
def scale(
    ctx: typer.Context, quick: bool = QUICK_SCALE, out: Path | None = OUT, script_help: bool = SCRIPT_HELP
) -> None:
    """Up to 100,000 long-running pods in 5 namespaces, watched by 3 replicas; one replica killed -9 at each size.

    Reports per size (10k, 25k, 50k, 100k): replica and API server memory per 10k pods, the watch cache's share, the time to run and record every pod, watch lag, database lock waits, one completed-pod sweep's time and bytes, one watch re-list, the time to take over the killed replica's pods (up to 10,000), and each candidate limit with the first size that hits it.

    Other options go to benchmarks/scale.py: --sizes --orphans --db sqlite|postgres --heartbeat --threshold --repeats --stall (see --script-help).
    """
    run("scale", ctx, quick, out, script_help)


@app.command("profile", context_settings=FORWARD)
def profile(ctx: typer.Context, quick: bool = QUICK, out: Path | None = OUT, script_help: bool = SCRIPT_HELP) -> None:
    """Where one replica's CPU goes per task: each thread's CPU clock, and the loop thread split by step.

    Runs short tasks (simulate kubelet, SQLite, default configuration) through one replica in this process and reads the operating system's per-thread CPU clocks. Results: benchmarks/results/profile-<label>.{json,md}.

    Other options go to benchmarks/replica_profile.py: --tasks --label --seed --podherd DIR (measure another checkout's podherd) (see --script-help).
    """
    run("profile", ctx, quick, out, script_help)


@app.command("airflow", context_settings=FORWARD)
def airflow(
    ctx: typer.Context, quick: bool = QUICK_AIRFLOW, out: Path | None = OUT, script_help: bool = SCRIPT_HELP
) -> None:
    """Real Airflow 3.3.2, 3 schedulers on PostgreSQL: podherd.airflow.PodherdExecutor beside the provider's KubernetesExecutor (10.25.0, and 10.17.0 before #66400).

    Each executor, on its own fresh deployment, through: steady state (cross-scheduler PATCH and DELETE, API requests per task by verb, pods left, scheduler CPU per task), kill -9 of a scheduler (first claim, its tasks done, duplicate runs, pods left), the job table refusing queries (cross-scheduler writes), two survivors racing for a dead scheduler's completed pods (claims per pod, redundant writes), and one completed-pod sweep with 10,000 pods (bytes, client CPU). Figures from the cluster's audit log and Airflow's database. Needs pg_ctl on PATH; the Airflow venvs are built by scripts/airflow-env.sh on first use.

    Other options go to benchmarks/airflow_bench.py: --executors --scenarios --tasks --race-pods --task-seconds --heartbeat --threshold --interval --outage --parallelism --idle --sweep-pods --sweep-repeats --keep (see --script-help).
    """
    run("airflow", ctx, quick, out, script_help)
