"""Throughput: how fast podherd drains 10,000 short tasks, against the best any client could do here.

Issue 5 item 3. For 1 and 3 replicas, on one local cluster (simulate kubelet), in the same run:

1. the limit: a bare client (podherd's own `KubeClient`, no database, no claims) keeps the same
   number of pods in flight as the replicas' total `core.parallelism`, creating each pod, and
   deleting it the moment its watch shows it finished — the least API work a task can cost —
   with the replicas' total client rate limit (R x `--qps`) and 16 request workers;
2. podherd: the same tasks (same pod shape, same simulated durations, uniform 0.1-1 s) queued in
   SQLite and drained by R real `podherd scheduler` processes with the default configuration.

Replicas are separate processes: peak RSS is then each replica's own, and they do not share a
GIL with the API server. The API server runs in this process (`LocalCluster` on a thread), so a
store listener can stamp the instant each pod turns terminal: event-to-database latency is the
attempt's `ended_at` (committed by the replica) minus that instant. Reported per run:

- tasks/min sustained: completions between the 10th and 90th percentile of the run, per minute
  (podherd: result committed; limit: finish seen by the client); makespan: first create to the
  last completion; all pods deleted: first create to the last pod's deletion;
- API writes per task: create/update/patch/delete requests the server answered (pods, leases...);
- event-to-DB latency p50/p99 (limit: event-to-client, the floor for any watcher);
- loop time p99: the replica's `podherd_loop_duration_seconds` histogram (an upper bucket bound);
- peak RSS per replica (VmHWM) and CPU seconds; ratio podherd/limit of tasks/min, and of the
  time until every pod is deleted (end to end).

    python benchmarks/throughput.py            # 10,000 tasks, R = 1 and 3 (several minutes on 2 cores)
    python benchmarks/throughput.py --quick    # 1,000 tasks, about two minutes; results to a temporary directory
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/throughput.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from benchmarks.cluster_bench import Conn, fmt_table, percentile
from benchmarks.common import configuration, header, output_dir, publish, pyplot, results_doc, save_figure
from podherd.core.kube.client import KubeClient
from podherd.core.labels import PODHERD_SCHEME
from podherd.core.podspec import PodRequest, build_pod
from podherd.localcluster.apiserver.server import ClusterConfig, LocalCluster
from podherd.localcluster.storage.store import Event
from podherd.standalone.db.models import TaskAttempt
from podherd.standalone.db.tx import read_tx
from tests.ha.harness import Harness, cpu_seconds, free_port, peak_rss_mb, sim_task

RESULTS = Path(__file__).resolve().parent / "results"
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
TERMINAL = ("Succeeded", "Failed")
DEFAULTS = {  # podherd's configuration defaults (the HA harness's fast-liveness settings are for tests)
    "PODHERD__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "5",
    "PODHERD__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "30",
    "PODHERD__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "300",
    "PODHERD__SCHEDULER__LOOP_IDLE_SLEEP": "0.2",
    "PODHERD__KUBERNETES_EXECUTOR__TASK_PUBLISH_MAX_RETRIES": "3",
}


class Stamps:
    """Store listener (runs on the cluster loop): when each pod of a namespace was created and turned terminal."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.created: dict[str, float] = {}
        self.finished: dict[str, float] = {}
        self.deleted: dict[str, float] = {}
        self.peak_pods = 0  # most pods of the namespace existing at once (finished ones awaiting deletion too)

    def __call__(self, ev: Event) -> None:
        if ev.resource != "pods" or ev.key[0] != self.namespace:
            return
        if ev.type == "ADDED":
            self.created.setdefault(ev.key[1], time.time())
            self.peak_pods = max(self.peak_pods, len(self.created) - len(self.deleted))
        elif ev.type == "MODIFIED" and phase(ev.obj) in TERMINAL and phase(ev.old) not in TERMINAL:
            self.finished.setdefault(ev.key[1], time.time())
        elif ev.type == "DELETED":
            self.deleted[ev.key[1]] = time.time()


def phase(pod: dict[str, Any] | None) -> str:
    return ((pod or {}).get("status") or {}).get("phase") or ""


def durations(n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [round(rng.uniform(0.1, 1.0), 3) for _ in range(n)]


# ---- the limit: a bare client (runs in a spawned process) ---------------------------------------------
def bare_client(conn: Conn, namespace: str, secs: list[float], window: int, qps: float, burst: int) -> dict[str, Any]:
    """Keep `window` pods in flight: create, and delete each as soon as the watch shows it finished."""
    kube = KubeClient(
        configuration(conn.url, conn.token, conn.ca_file), "podherd-bench-limit", qps, burst, pool_size=32
    )
    selector = f"{PODHERD_SCHEME.owner_key}=limit"
    slots = threading.Semaphore(window)
    seen: dict[str, float] = {}
    all_seen = threading.Event()
    workers = ThreadPoolExecutor(16)  # podherd's worker_pods_creation_batch_size
    rv = kube.list_pods(namespace, selector)[1]
    started = time.process_time()

    def watch(rv: str) -> None:
        while not all_seen.is_set():
            try:
                for ev in kube.watch_pods(namespace, selector, rv, 3600, 120):
                    obj = ev.get("object") or {}
                    rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                    name = (obj.get("metadata") or {}).get("name", "")
                    if ev.get("type") == "MODIFIED" and phase(obj) in TERMINAL and name not in seen:
                        seen[name] = time.time()
                        slots.release()
                        workers.submit(kube.delete_pod, namespace, name, obj["metadata"]["uid"])
                        if len(seen) == len(secs):
                            all_seen.set()
                            return
            except Exception as e:  # a dropped watch resumes from the last resourceVersion
                print(f"limit client: watch resumes after {type(e).__name__}: {e}", file=sys.stderr)
                time.sleep(0.5)

    watcher = threading.Thread(target=watch, args=(rv,), daemon=True)
    watcher.start()
    for i, s in enumerate(secs):
        slots.acquire()
        req = PodRequest(i + 1, "bench", 1, "limit", "busybox:1.36", ("true",), namespace=namespace,
                         annotations=sim_task("x", s)["annotations"])  # fmt: skip
        workers.submit(kube.create_pod, namespace, build_pod(req, PODHERD_SCHEME))
    all_seen.wait()
    workers.shutdown(wait=True)
    return {"seen": seen, "cpu_seconds": round(time.process_time() - started, 2), "peak_rss_mb": peak_rss_mb()}


# ---- one phase ---------------------------------------------------------------------------------------
def request_counts(cluster: LocalCluster) -> dict[tuple[str, str, int], int]:
    return cluster.call(dict, cluster.request_counts)  # copied on the loop that mutates it


def writes_between(before: dict[Any, int], after: dict[Any, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for (verb, res, _code), n in after.items():
        if verb in WRITE_VERBS and n - before.get((verb, res, _code), 0):
            out[f"{verb} {res}"] = out.get(f"{verb} {res}", 0) + n - before.get((verb, res, _code), 0)
    return out


def wait_empty(cluster: LocalCluster, namespace: str, timeout: float = 60) -> int:
    """Wait for every pod of the namespace to be deleted (deletes trail results); returns pods left."""
    deadline = time.monotonic() + timeout
    while (
        left := cluster.call(lambda: sum(1 for _ in cluster.store.items("pods", namespace)))
    ) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def summarize(done: dict[str, float], stamps: Stamps, tasks: int, writes: dict[str, int]) -> dict[str, Any]:
    """Rates and latencies from completion times (`done`: pod name -> when the task counted as complete)."""
    done_at = sorted(done.values())
    first_create = min(stamps.created.values())
    lat = [done[n] - stamps.finished[n] for n in done if n in stamps.finished]
    lo, hi = int(len(done_at) * 0.1), max(int(len(done_at) * 0.9) - 1, 0)
    span = done_at[hi] - done_at[lo] if hi > lo else 0.0
    return {
        "tasks_done": len(done_at),
        "tasks_per_min_sustained": round((hi - lo) / span * 60, 1) if span > 0 else None,
        "makespan_s": round(done_at[-1] - first_create, 2) if done_at else None,
        "all_deleted_s": round(max(stamps.deleted.values()) - first_create, 2) if stamps.deleted else None,
        "peak_pods": stamps.peak_pods,
        "api_writes": sum(writes.values()),
        "api_writes_per_task": round(sum(writes.values()) / tasks, 2),
        "api_writes_by_kind": writes,
        "latency_p50_ms": round(percentile(lat, 50) * 1000, 1),
        "latency_p99_ms": round(percentile(lat, 99) * 1000, 1),
    }


def run_limit(cluster: LocalCluster, secs: list[float], window: int, qps: float, burst: int) -> dict[str, Any]:
    ns = f"limit-w{window}"
    cluster.call(cluster.api.create_namespace_object, ns)
    stamps = Stamps(ns)
    cluster.call(cluster.store.subscribe, stamps)
    before = request_counts(cluster)
    ctx = multiprocessing.get_context("spawn")  # never fork: the server's threads and heap stay here
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        out = pool.submit(bare_client, Conn.of(cluster), ns, secs, window, qps, burst).result()
    left = wait_empty(cluster, ns)
    cluster.call(cluster.store.unsubscribe, stamps)
    res = summarize(out["seen"], stamps, len(secs), writes_between(before, request_counts(cluster)))
    res.update(
        window=window, pods_left=left, peak_rss_mb_max=out["peak_rss_mb"],
        cpu_s_per_1k_tasks=round(out["cpu_seconds"] * 1000 / len(secs), 2),
    )  # fmt: skip
    return res


def run_podherd(
    cluster: LocalCluster, secs: list[float], replicas: int, parallelism: int, qps: float, workdir: Path
) -> dict[str, Any]:
    ns = f"podherd-r{replicas}"
    cluster.call(cluster.api.create_namespace_object, ns)
    h = Harness(workdir, f"sqlite:///{workdir}/throughput.db")
    h.env = {
        **DEFAULTS,
        "PODHERD__KUBERNETES_EXECUTOR__NAMESPACE": ns,
        "PODHERD__CORE__PARALLELISM": str(parallelism),
        "PODHERD__KUBERNETES_EXECUTOR__KUBE_CLIENT_QPS": str(qps),
        "PODHERD__KUBERNETES_EXECUTOR__KUBE_CLIENT_BURST": str(int(2 * qps)),
    }
    h.attach(cluster)
    stamps = Stamps(ns)
    cluster.call(cluster.store.subscribe, stamps)
    before = request_counts(cluster)
    ports = [free_port() for _ in range(replicas)]
    try:
        for i, port in enumerate(ports):
            h.start_replica(f"r{i}", args=("--metrics-port", str(port), "--log-level", "warning"))
        # Start-up (imports, migrations, first list) is not per-task work: count CPU from readiness on,
        # as the limit client counts from its first create; the tasks are queued only then.
        at_ready = [ready_cpu(port, p.pid) for port, p in zip(ports, h.replicas.values(), strict=True)]
        h.submit([sim_task(f"t{i}", s) for i, s in enumerate(secs)], namespace=ns)
        h.wait_all_terminal(timeout=max(600, len(secs) / 5))
        left = wait_empty(cluster, ns)
        per_replica = [
            {
                "loop": loop_histogram(port),
                "peak_rss_mb": peak_rss_mb(p.pid),
                "cpu_seconds": round((cpu_seconds(p.pid) or 0.0) - base, 2),
                "startup_cpu_seconds": base,
            }
            for port, p, base in zip(ports, h.replicas.values(), at_ready, strict=True)
        ]
        counts = h.counts()
        with read_tx(h.engine) as conn:
            ended = dict(conn.execute(select(TaskAttempt.pod_name, TaskAttempt.ended_at)).all())
    finally:
        h.stop()
        cluster.call(cluster.store.unsubscribe, stamps)
    done = {name: t.timestamp() for name, t in ended.items() if t is not None}
    res = summarize(done, stamps, len(secs), writes_between(before, request_counts(cluster)))
    res.update(
        replicas=replicas,
        parallelism=parallelism,
        tasks_by_state=counts,
        pods_left=left,
        loop_p99_ms_max=max(r["loop"]["p99_le_ms"] for r in per_replica),
        peak_rss_mb_max=max(r["peak_rss_mb"] or 0 for r in per_replica),
        cpu_s_per_1k_tasks=round(sum(r["cpu_seconds"] or 0 for r in per_replica) * 1000 / len(secs), 2),
        per_replica=per_replica,
    )
    return res


def ready_cpu(port: int, pid: int, timeout: float = 120) -> float:
    """Wait until a replica's /readyz answers 200; its CPU seconds then (its start-up cost)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).status == 200:
                return cpu_seconds(pid) or 0.0
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"replica on port {port} not ready after {timeout}s")


def loop_histogram(port: int) -> dict[str, Any]:
    """p99 of the loop-duration histogram as the upper bound of its bucket, plus count and mean."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    buckets = [
        (float(le), float(n))
        for le, n in re.findall(r'podherd_loop_duration_seconds_bucket\{le="([^"]+)"\} (\S+)', text)
    ]
    count = float(re.search(r"podherd_loop_duration_seconds_count (\S+)", text).group(1))  # type: ignore[union-attr]
    total = float(re.search(r"podherd_loop_duration_seconds_sum (\S+)", text).group(1))  # type: ignore[union-attr]
    p99 = next((le for le, n in buckets if n >= 0.99 * count), float("inf"))
    return {"loops": int(count), "mean_ms": round(total / count * 1000, 2) if count else 0.0, "p99_le_ms": p99 * 1000}


# ---- report ------------------------------------------------------------------------------------------
COLUMNS = {
    "tasks/min": "tasks_per_min_sustained", "makespan s": "makespan_s", "all pods deleted s": "all_deleted_s",
    "peak pods": "peak_pods",
    "API writes/task": "api_writes_per_task",
    "event->DB p50 ms": "latency_p50_ms", "p99 ms": "latency_p99_ms", "loop p99 ms (<=)": "loop_p99_ms_max",
    "peak RSS MB": "peak_rss_mb_max", "CPU s/1k tasks": "cpu_s_per_1k_tasks",
}  # fmt: skip


def render(results: dict[str, Any], markdown: bool) -> str:
    rows = []
    for r in results["runs"]:
        p, lim = r["podherd"], r["limit"]
        ratios = [r["ratio_tasks_per_min"], r.get("ratio_end_to_end", "-")]
        rows.append([f"podherd R={r['replicas']}", *(p.get(k, "-") for k in COLUMNS.values()), *ratios])
        rows.append([f"limit, {lim['window']} in flight", *(lim.get(k, "-") for k in COLUMNS.values()), 1.0, 1.0])
    setup = (
        f"{results['tasks']} tasks per run, simulated durations uniform 0.1-1 s (mean {results['mean_task_s']} s); "
        f"parallelism {results['parallelism']} and client rate limit {results.get('qps', 200)} QPS per replica; "
        "API server in the benchmark's process, replicas and the limit client in their own processes; SQLite."
    )
    note = (
        "Latency for the limit is event-to-client (the watch delivery floor); for podherd, event-to-commit. "
        "x limit: tasks/min ratio; end to end: the limit's time to the last pod deleted over podherd's."
    )
    table = fmt_table(["run", *COLUMNS, "x limit", "x limit end to end"], rows, markdown)
    return "\n".join([*header(results, "podherd throughput", markdown), setup, "", table, "", note, ""])


PANELS = {
    "tasks_per_min_sustained": "tasks/min sustained",
    "cpu_s_per_1k_tasks": "CPU s per 1000 tasks (client side)",
    "latency_p99_ms": "event->DB (limit: ->client) p99 ms",
}


def plot(results: dict[str, Any], path: Path) -> Path | None:
    plt = pyplot()
    if plt is None:
        return None
    runs = results["runs"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.5))
    x = range(len(runs))
    for ax, (key, title) in zip(axes, PANELS.items(), strict=True):
        ax.bar([i - 0.2 for i in x], [r["podherd"][key] or 0 for r in runs], 0.4, label="podherd")
        ax.bar([i + 0.2 for i in x], [r["limit"][key] or 0 for r in runs], 0.4, label="bare client (limit)")
        ax.set_xticks(list(x), [f"R={r['replicas']}" for r in runs])
        ax.set_title(title)
    axes[0].legend(loc="lower right")
    title = f"podherd throughput, {results['tasks']} tasks per run, parallelism {results['parallelism']} per replica"
    return save_figure(plt, fig, title, path)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, help="tasks per run (default 10000, quick 1000)")
    ap.add_argument("--replicas", default="1,3", help="replica counts, comma-separated (default 1,3)")
    ap.add_argument("--parallelism", type=int, default=32, help="core.parallelism of each replica (default 32)")
    ap.add_argument("--seed", type=int, default=5, help="seed of the task durations")
    ap.add_argument(
        "--qps",
        type=float,
        default=200.0,
        help="kube_client_qps per replica, burst 2x (default 200, podherd's default)",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="1,000 tasks, about two minutes; writes to a temporary directory unless --out",
    )
    ap.add_argument("--out", type=Path, help="output directory (default benchmarks/results; --quick: a temporary one)")
    args = ap.parse_args(argv)
    args.tasks = args.tasks or (1000 if args.quick else 10_000)
    args.out = output_dir(args.out, args.quick, "throughput", RESULTS)
    try:
        args.replica_counts = [int(x) for x in args.replicas.split(",")]
    except ValueError:
        ap.error("--replicas: expected comma-separated integers")
    if args.tasks < 10 or args.parallelism < 1 or not all(1 <= n <= 5 for n in args.replica_counts):
        ap.error("need --tasks >= 10, --parallelism >= 1 and replica counts within 1..5")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Per replica count: the limit, then podherd, on one cluster; print, write JSON + Markdown + PNG."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    secs = durations(args.tasks, args.seed)
    runs = []
    with LocalCluster(ClusterConfig(mode="simulate")) as cluster:
        for n in args.replica_counts:
            print(f"R={n}: limit ...", flush=True)
            limit = run_limit(cluster, secs, n * args.parallelism, n * args.qps, int(n * 2 * args.qps))
            print(f"R={n}: podherd ...", flush=True)
            with tempfile.TemporaryDirectory(prefix=f"podherd-throughput-r{n}-") as tmp:
                ph = run_podherd(cluster, secs, n, args.parallelism, args.qps, Path(tmp))
            lim, got = limit["tasks_per_min_sustained"], ph["tasks_per_min_sustained"]
            lim_end, got_end = limit["all_deleted_s"], ph["all_deleted_s"]
            runs.append(
                {
                    "replicas": n,
                    "limit": limit,
                    "podherd": ph,
                    "ratio_tasks_per_min": round(got / lim, 3) if lim and got else None,
                    "ratio_end_to_end": round(lim_end / got_end, 3) if lim_end and got_end else None,
                }
            )
    results = results_doc(
        "throughput", argv, args.quick, tasks=args.tasks, parallelism=args.parallelism, qps=args.qps,
        mean_task_s=round(statistics.fmean(secs), 3), runs=runs,
    )  # fmt: skip
    publish(results, "throughput", args.out, render, plot)
    return results


if __name__ == "__main__":
    main()
