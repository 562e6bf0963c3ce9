"""Sweep cost: one completed-pod sweep in a namespace of 1k, 10k and 50k pods, done three ways.

Issue 5 item 2. Before Airflow #35599 the completed-pod sweep fetched full `V1PodList`s
deserialised into the official client's models (15-30 s with ~500 pods in the issue).
Each way is measured on the same namespace, in the same run:

- (a) `models`: the pre-#35599 way: `CoreV1Api.list_namespaced_pod` into models, selector
  excluding only self (`owner!=me`) and `status.phase=Succeeded`, one request;
- (b) `metadata`: the same selector and phase, metadata-only (`as=PartialObjectMetadataList`)
  raw JSON, paged — what the metadata-only fix alone buys;
- (c) `podherd`: what `Sweeper.sweep_completed` lists: the seed's selector with the alive set
  (`owner notin (me, alive...)`, via `podherd.core.ha.planner.sweep_selector`), once per terminal
  phase (Succeeded and Failed), metadata-only raw JSON through `KubeClient.list_pods`, then
  `plan_claims` (the claims themselves are not sent: they would change the namespace).

The cluster runs in this process (`ClusterConfig(mode="none")`: no kubelet); pods are shaped by
podherd's own `build_pod`, loaded through `Api.create` on the cluster loop, and given a kubelet-
shaped status. Each (size, way) runs in a fresh spawned client process, so its memory numbers
are the client's alone: time is the median of `--repeats` sweeps after a warm-up; bytes are the
response bodies; memory is tracemalloc's peak during one more sweep, and the growth of peak RSS
during the first sweep.

    python benchmarks/sweep_cost.py            # 1k, 10k, 50k pods (about 2 minutes on 2 cores)
    python benchmarks/sweep_cost.py --quick    # 1k and 5k pods, well under a minute; results to a temporary directory
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/sweep_cost.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson

from benchmarks.cluster_bench import Conn, fmt_table
from benchmarks.common import configuration, header, output_dir, publish, pyplot, results_doc, save_figure
from podherd.core.ha.planner import Policy, plan_claims, sweep_selector
from podherd.core.kube.client import KubeClient
from podherd.core.labels import PODHERD_SCHEME
from podherd.core.podspec import PodRequest, build_pod
from podherd.core.podstatus import TERMINAL_PHASES
from podherd.localcluster.apimachinery.kinds import PODS
from podherd.localcluster.apiserver.server import ClusterConfig, LocalCluster
from podherd.localcluster.kubelet.status import build as ks
from podherd.localcluster.kubelet.status import phase as kp
from tests.ha.harness import peak_rss_mb

RESULTS = Path(__file__).resolve().parent / "results"
ME, ALIVE, DEAD = "1", ("2", "3"), ("9",)
NAMESPACE = "sweep"
WAYS = {
    "models": "(a) pre-#35599: full V1PodList into models, owner!=me, Succeeded",
    "metadata": "(b) metadata-only raw JSON, owner!=me, Succeeded",
    "podherd": "(c) podherd: notin (me, alive), Succeeded + Failed, metadata-only raw JSON",
}
FULL_SIZES = "1000,10000,50000"
QUICK_SIZES = "1000,5000"


# ---- the namespace ---------------------------------------------------------------------------------
def mix(i: int) -> tuple[str, str]:
    """(owner, phase) of pod i: 90% alive owners (me included), 10% dead; 70% Running, 25% Succeeded, 5% Failed."""
    owner = DEAD[0] if i % 10 == 9 else (ME, *ALIVE)[i % 3]
    k = i // 10 % 20  # independent of the owner (i % 10)
    phase = "Failed" if k == 0 else "Succeeded" if k <= 5 else "Running"
    return owner, phase


def pod_manifest(i: int, owner: str) -> dict[str, Any]:
    req = PodRequest(
        task_id=i,
        task_name=f"etl-load-{i % 97}",
        try_number=1,
        owner_id=owner,
        image="python:3.12-slim",
        command=("python3", "-m", "etl"),
        args=("--partition", str(i)),
        env={"BATCH": "2026-11-24", "SHARD": str(i % 16)},
        resources={"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        namespace=NAMESPACE,
    )
    return build_pod(req, PODHERD_SCHEME)


def kubelet_status(pod: dict[str, Any], phase: str, now: str, i: int) -> dict[str, Any]:
    """The status the local kubelet would have written for a pod in `phase`."""
    c = ks.Container(name=pod["spec"]["containers"][0]["name"], image=pod["spec"]["containers"][0]["image"])
    c.set_running(now, f"containerd://{i:064x}")
    if phase != kp.RUNNING_PHASE:
        code = 0 if phase == kp.SUCCEEDED else 1
        c.set_terminated(code, ks.exit_reason(code), now)
    statuses = [ks.container_status(c)]
    running = phase == kp.RUNNING_PHASE
    conditions = kp.pod_conditions(pod["spec"], phase, [], statuses, running, now)
    return ks.pod_status(
        phase=phase, conditions=conditions, host_ip="127.0.0.1", pod_ip=f"10.1.{i // 250 % 256}.{i % 250 + 1}",
        start_time=now, init_statuses=[], statuses=statuses, qos_class="Burstable",
    )  # fmt: skip


def load(cluster: LocalCluster, pods: int, batch: int = 1000) -> float:
    """Create `pods` pods through Api.create on the loop, then write each one's status; returns seconds."""
    started = time.perf_counter()
    cluster.call(cluster.api.create_namespace_object, NAMESPACE)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def create_batch(lo: int, hi: int) -> None:
        for i in range(lo, hi):
            owner, phase = mix(i)
            stored = cluster.api.create(PODS, NAMESPACE, pod_manifest(i, owner), "sweep-bench")
            spec = {**stored["spec"], "nodeName": "local"}
            cluster.store.update(
                "pods",
                (NAMESPACE, stored["metadata"]["name"]),
                {**stored, "spec": spec, "status": kubelet_status(stored, phase, now, i)},
            )

    for lo in range(0, pods, batch):
        cluster.call(create_batch, lo, min(pods, lo + batch))
    return time.perf_counter() - started


# ---- the client side (runs in a fresh spawned process per measurement) ------------------------------
class CountingKube(KubeClient):
    """podherd's client, counting the response bytes it parses."""

    bytes_received = 0

    def _json(self, verb: str, resource: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        resp = self._call(verb, resource, fn, *args, **kwargs)
        try:
            data = resp.data
            self.bytes_received += len(data)
            return orjson.loads(data)
        finally:
            resp.release_conn()


def make_sweep(conn: Conn, way: str) -> Callable[[], tuple[int, int]]:
    """A zero-argument sweep for `way` returning (bytes received, pods returned)."""
    from kubernetes import client

    cfg = configuration(conn.url, conn.token, conn.ca_file)
    exclude_self = sweep_selector(Policy.EXCLUDE_SELF, ME, (), PODHERD_SCHEME)
    if way == "models":
        core = client.CoreV1Api(client.ApiClient(cfg))
        seen: list[Any] = []
        original = core.api_client.call_api

        def recording(*args: Any, **kwargs: Any) -> Any:
            seen.append(original(*args, **kwargs))  # the raw response: its body is read after this returns
            return seen[-1]

        core.api_client.call_api = recording

        def models() -> tuple[int, int]:
            seen.clear()
            pods = core.list_namespaced_pod(
                NAMESPACE, label_selector=exclude_self, field_selector="status.phase=Succeeded", _request_timeout=600
            )
            return sum(len(r.data) for r in seen), len(pods.items)

        return models
    kube = CountingKube(cfg, "sweep-bench", qps=1e9, burst=10**9)

    def lists(selector: str, phases: Sequence[str]) -> tuple[int, int]:
        kube.bytes_received = 0
        items: list[dict[str, Any]] = []
        for phase in phases:
            items += kube.list_pods(NAMESPACE, selector, f"status.phase={phase}", metadata_only=True)[0]
        if way == "podherd":
            items = [c.__dict__ for c in plan_claims(items, Policy.PODHERD, ME, set(ALIVE), PODHERD_SCHEME)]
        return kube.bytes_received, len(items)

    if way == "metadata":
        return lambda: lists(exclude_self, ("Succeeded",))
    return lambda: lists(sweep_selector(Policy.PODHERD, ME, ALIVE, PODHERD_SCHEME), TERMINAL_PHASES)


def measure(conn: Conn, way: str, repeats: int) -> dict[str, Any]:
    """In a fresh process: RSS growth of the first sweep, median time of `repeats`, tracemalloc peak of one."""
    sweep = make_sweep(conn, way)
    rss_before = rss_now_mb()
    reset = reset_peak_rss()  # else the peak may be the imports', not the sweep's
    t = time.perf_counter()
    nbytes, items = sweep()
    first_s = time.perf_counter() - t
    peak = peak_rss_mb(os.getpid()) if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_growth = (peak or 0.0) - rss_before
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        sweep()
        times.append(time.perf_counter() - t)
    tracemalloc.start()
    sweep()
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "description": WAYS[way],
        "median_ms": round(statistics.median(times) * 1000, 2),
        "min_ms": round(min(times) * 1000, 2),
        "first_ms": round(first_s * 1000, 2),
        "samples_ms": [round(x * 1000, 2) for x in times],
        "bytes": nbytes,
        "items": items,
        "tracemalloc_peak_mb": round(traced_peak / 2**20, 2),
        "rss_growth_mb": round(max(0.0, rss_growth), 1),
    }


def rss_now_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0); False if not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def in_fresh_process(fn: Callable[..., Any], *args: Any) -> Any:
    """Run fn(*args) in a new spawned process (never fork: the server's threads and heap stay here)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# ---- run and report --------------------------------------------------------------------------------
def bench_size(pods: int, repeats: int) -> dict[str, Any]:
    with LocalCluster(ClusterConfig(mode="none")) as cluster:
        load_s = load(cluster, pods)
        ways = {way: in_fresh_process(measure, Conn.of(cluster), way, repeats) for way in WAYS}
    a, c = ways["models"], ways["podherd"]
    return {
        "pods": pods,
        "load_seconds": round(load_s, 2),
        "matching": {"succeeded_not_mine": sum(1 for i in range(pods) if mix(i)[0] != ME and mix(i)[1] == "Succeeded")},
        "ways": ways,
        "ratio_a_over_c": {
            "time": round(a["median_ms"] / c["median_ms"], 1) if c["median_ms"] else None,
            "bytes": round(a["bytes"] / c["bytes"], 1) if c["bytes"] else None,
            "tracemalloc_peak": round(a["tracemalloc_peak_mb"] / c["tracemalloc_peak_mb"], 1)
            if c["tracemalloc_peak_mb"]
            else None,
        },
    }


WAY_COLUMNS = {
    "way": "description", "pods returned": "items", "median ms": "median_ms", "bytes": "bytes",
    "tracemalloc peak MB": "tracemalloc_peak_mb", "peak RSS growth MB": "rss_growth_mb",
}  # fmt: skip


def render(results: dict[str, Any], markdown: bool) -> str:
    sizes = results["sizes"]
    rows = [[s["pods"], *(w[k] for k in WAY_COLUMNS.values())] for s in sizes for w in s["ways"].values()]
    ratios = [[s["pods"], *s["ratio_a_over_c"].values()] for s in sizes]
    mix = (
        "Namespace mix: 90% of pods owned by alive replicas (me + 2 siblings), 10% by a dead one; 70% Running, "
        f"25% Succeeded, 5% Failed. Time: median of {results['repeats']} sweeps after a warm-up."
    )
    return "\n".join(
        [
            *header(results, "podherd completed-pod sweep cost", markdown),
            mix,
            "",
            fmt_table(["pods", *WAY_COLUMNS], rows, markdown),
            "",
            fmt_table(["pods", "(a)/(c) time", "(a)/(c) bytes", "(a)/(c) peak memory"], ratios, markdown),
            "",
        ]
    )


def plot(results: dict[str, Any], path: Path) -> Path | None:
    plt = pyplot()
    if plt is None:
        return None
    sizes = [s["pods"] for s in results["sizes"]]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.5))
    for ax, (key, title) in zip(
        axes,
        [
            ("median_ms", "sweep time, ms"),
            ("bytes", "bytes received"),
            ("tracemalloc_peak_mb", "client peak memory, MB"),
        ],
        strict=True,
    ):
        for way in WAYS:
            ax.plot(sizes, [s["ways"][way][key] for s in results["sizes"]], marker="o", label=way)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("pods in the namespace")
        ax.set_title(title)
        ax.legend()
    return save_figure(plt, fig, "One completed-pod sweep: (a) pre-#35599 models, (b) metadata-only, (c) podherd", path)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", help=f"pods per namespace, comma-separated (default {FULL_SIZES}, quick {QUICK_SIZES})")
    ap.add_argument("--repeats", type=int, default=5, help="timed sweeps per way after the warm-up")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="small namespaces, well under a minute; to a temporary directory unless --out",
    )
    ap.add_argument("--out", type=Path, help=f"output directory (default {RESULTS.relative_to(RESULTS.parents[1])})")
    args = ap.parse_args(argv)
    try:
        args.size_list = [int(x) for x in (args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)).split(",")]
    except ValueError:
        ap.error("--sizes: expected comma-separated integers")
    if not all(n >= 10 for n in args.size_list) or args.repeats < 1:
        ap.error("need every size >= 10 and --repeats >= 1")
    args.out = output_dir(args.out, args.quick, "sweep", RESULTS)
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Measure each size, print the tables, write JSON + Markdown + PNG; return the results."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    sizes = []
    for n in args.size_list:
        print(f"loading {n} pods and sweeping ...", flush=True)
        sizes.append(bench_size(n, args.repeats))
    results = results_doc("sweep_cost", argv, args.quick, repeats=args.repeats, sizes=sizes)
    publish(results, "sweep_cost", args.out, render, plot)
    return results


if __name__ == "__main__":
    main()
