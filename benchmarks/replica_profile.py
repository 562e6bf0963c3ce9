"""Profile: where a replica's CPU goes per task, by thread and, on the loop thread, by step.

Issue 14 item 1. One `Replica` runs in this process against an embedded cluster (simulate
kubelet) and an SQLite database holding `--tasks` queued tasks (uniform 0.1-1 s pods, parallelism
32, the default configuration), until every task is done. Measured with the operating system's
per-thread CPU clocks, which count CPU, not waiting:

- per thread: the replica's threads (its loop, create pool, cleanup pool, watch), read from
  /proc/self/task/<tid>/stat at the end; the embedded cluster's threads are left out;
- per step of the loop thread: `time.thread_time()` around the claim, the executor's sync (and,
  where the code has them, its store commit, event handling, create answers and cleanup
  submissions), summed over the run.

Each figure is CPU milliseconds per task. Runs against whatever podherd is importable, so the
same script profiles an older commit too (steps the code lacks are simply not reported).

    python benchmarks/replica_profile.py                   # 3000 tasks (about a minute)
    python benchmarks/replica_profile.py --quick           # 300 tasks; results to a temporary directory
    python benchmarks/replica_profile.py --label after     # writes profile-after.{json,md}
    git worktree add /tmp/old <commit> && python benchmarks/replica_profile.py --podherd /tmp/old --label before
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/replica_profile.py`: make the checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _other_podherd(argv: Sequence[str]) -> Path | None:
    """`--podherd DIR` from the command line, read before anything imports podherd."""
    for i, arg in enumerate(argv):
        if arg == "--podherd" and i + 1 < len(argv):
            return Path(argv[i + 1]).resolve()
        if arg.startswith("--podherd="):
            return Path(arg.split("=", 1)[1]).resolve()
    return None


if __name__ == "__main__" and (_other := _other_podherd(sys.argv[1:])) is not None:
    sys.path.insert(0, str(_other))  # the measured podherd comes from there; benchmarks and tests from here
    import podherd  # noqa: F401

    sys.path.remove(str(_other))

from benchmarks.cluster_bench import fmt_table  # noqa: E402 (after choosing which podherd to measure)
from benchmarks.common import header, output_dir, publish, results_doc  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
# (module, class, method, label): the loop thread's steps; the first two exist in every version.
STEPS = (
    ("podherd.standalone.replica", "Replica", "step", "loop step (all of it)"),
    ("podherd.standalone.replica", "Replica", "_claim", "claim queued tasks"),
    ("podherd.core.executor.executor", "KubernetesExecutor", "sync", "executor sync"),
    ("podherd.core.executor.batch", "Batch", "commit", "  store commit (one per loop)"),
    ("podherd.core.executor.executor", "KubernetesExecutor", "_on_event", "  pod events"),
    ("podherd.core.executor.creating", "CreateAnswers", "_on_created", "  create answers"),
    ("podherd.core.executor.executor", "KubernetesExecutor", "_on_created", "  create answers"),
    ("podherd.core.executor.results", "Results", "finish", "  results (record + cleanup)"),
    ("podherd.standalone.replica", "Replica", "_launch_of", "build pod manifests"),
)


def _labels() -> list[str]:
    return list(dict.fromkeys(step[3] for step in STEPS))


class StepClock:
    """Sums `time.thread_time()` spent in wrapped methods, on one thread only."""

    def __init__(self) -> None:
        self.cpu: collections.Counter[str] = collections.Counter()
        self.calls: collections.Counter[str] = collections.Counter()
        self.thread = threading.get_ident()

    def wrap(self, module: str, cls: str, method: str, label: str) -> None:
        import importlib

        try:
            owner = getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError):
            return
        original = owner.__dict__.get(method)
        if original is None:
            return
        clock = self

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() != clock.thread:
                return original(*args, **kwargs)
            started = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                clock.cpu[label] += time.thread_time() - started
                clock.calls[label] += 1

        setattr(owner, method, timed)


def thread_cpu(names: dict[int, str]) -> dict[str, float]:
    """CPU seconds of this process's threads, by Python thread name (numbered pools merged)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: collections.Counter[str] = collections.Counter()
    for tid in os.listdir("/proc/self/task"):
        fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        name = names.get(int(tid))
        if name is not None:
            out[name.rstrip("_0123456789")] += (int(fields[11]) + int(fields[12])) / tick
    return dict(out)


def run(tasks: int, seed: int) -> dict[str, Any]:
    from podherd.config import load_config
    from podherd.core.kube.client import KubeClient
    from podherd.localcluster.apiserver.server import ClusterConfig, LocalCluster
    from podherd.standalone.db import open_database, queries
    from podherd.standalone.replica import Replica
    from podherd.standalone.taskfile import parse_tasks
    from tests.ha.harness import sim_task

    clock = StepClock()
    for step in STEPS:
        clock.wrap(*step)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="podherd-profile-") as tmp:
        cluster = LocalCluster(ClusterConfig(mode="simulate", gc_tuning=False)).start()
        cluster_threads = {t.native_id for t in threading.enumerate()}
        engine = open_database(f"sqlite:///{tmp}/profile.db")
        specs = [sim_task(f"t{i}", round(rng.uniform(0.1, 1.0), 3)) for i in range(tasks)]
        queries.insert_tasks(engine, parse_tasks(specs, "profile"), "default")
        cfg = load_config(None)
        k = cfg.kubernetes_executor
        kube = KubeClient(cluster.api_client().configuration, qps=k.kube_client_qps, burst=k.kube_client_burst)
        replica = Replica(cfg, engine, kube, None)
        main_before = time.thread_time()  # the loop thread's CPU so far (imports, start-up) is not the run's
        replica.start()
        checked = [0.0]

        def finished() -> bool:
            now = time.monotonic()
            if now - checked[0] < 0.5:
                return False
            checked[0] = now
            counts = queries.count_tasks_by_state(engine)
            return counts["queued"] + counts["running"] == 0

        started, wall = time.thread_time(), time.monotonic()
        replica.run(until=finished)
        loop_cpu, wall = time.thread_time() - started, time.monotonic() - wall
        names = {t.native_id: t.name for t in threading.enumerate() if t.native_id not in cluster_threads}
        names[threading.get_native_id()] = "loop (MainThread)"
        threads = thread_cpu(names)
        threads["loop (MainThread)"] = time.thread_time() - main_before
        loops = replica.stats.loops
        replica.shutdown()
        cluster.stop()
    per_task = 1000 / tasks
    return {
        "wall_s": round(wall, 2),
        "loops": loops,
        "loops_per_task": round(loops / tasks, 3),
        "threads_ms_per_task": {k: round(v * per_task, 3) for k, v in sorted(threads.items(), key=lambda kv: -kv[1])},
        "replica_ms_per_task": round(sum(threads.values()) * per_task, 3),
        "loop_ms_per_task": round(loop_cpu * per_task, 3),
        "steps_ms_per_task": {
            label: round(clock.cpu[label] * per_task, 3) for label in _labels() if label in clock.cpu
        },
        "step_calls": dict(clock.calls),
    }


def render(results: dict[str, Any], markdown: bool) -> str:
    r = results["run"]
    lines = header(results, f"podherd replica profile ({results['label']})", markdown)
    lines += [
        f"{results['tasks']} tasks, one replica in-process, simulate kubelet, SQLite; "
        f"{r['loops']} loops ({r['loops_per_task']} per task), {r['wall_s']} s. CPU ms per task.",
        "",
    ]
    rows = [[name, ms] for name, ms in r["threads_ms_per_task"].items()] + [
        ["all replica threads", r["replica_ms_per_task"]]
    ]
    lines += [fmt_table(["thread", "CPU ms/task"], rows, markdown), ""]
    rows = [[name, ms] for name, ms in r["steps_ms_per_task"].items()]
    lines += [fmt_table(["loop step", "CPU ms/task"], rows, markdown), ""]
    return "\n".join(lines)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, help="tasks to run (default 3000; --quick 300)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--label", default="latest", help="names the results: profile-<label>.{json,md}")
    ap.add_argument("--quick", action="store_true", help="300 tasks; writes to a temporary directory unless --out")
    ap.add_argument("--out", type=Path)
    ap.add_argument(
        "--podherd", type=Path, help="profile the podherd of this checkout (e.g. a worktree at an older commit)"
    )
    args = ap.parse_args(argv)
    args.tasks = args.tasks or (300 if args.quick else 3000)
    if args.tasks < 10 or not args.label.replace("-", "").isalnum():
        ap.error("need --tasks >= 10 and a --label of letters, digits and dashes")
    args.out = output_dir(args.out, args.quick, "profile", RESULTS)
    return args


def profiled_code(checkout: Path | None) -> dict[str, Any]:
    """Which podherd is measured: this checkout's, or another's (its commit and dirty flag)."""
    import podherd
    from benchmarks.cluster_bench import git_state

    commit, dirty = git_state(checkout) if checkout is not None else git_state()
    return {"path": str(Path(podherd.__file__).resolve().parent), "git_commit": commit, "git_dirty": dirty}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.podherd is not None and profiled_code(args.podherd)["path"] != str(args.podherd.resolve() / "podherd"):
        raise SystemExit("--podherd works only when the script is run directly (python benchmarks/replica_profile.py)")
    results = results_doc(
        "replica_profile",
        argv,
        args.quick,
        tasks=args.tasks,
        label=args.label,
        profiled=profiled_code(args.podherd),
        run=run(args.tasks, args.seed),
    )
    no_plot: Callable[[dict[str, Any], Path], Path | None] = lambda _r, _p: None  # noqa: E731
    publish(results, f"profile-{args.label}", args.out, render, no_plot)
    return results


if __name__ == "__main__":
    main()
