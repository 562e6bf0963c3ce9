"""Benchmark the embedded local cluster: bulk load, label-selected LIST latency, watch fan-out.

Acceptance item 5 of issue 2 asks how the local API server behaves at scale: with
50,000 pods stored, how long a label-selected LIST returning 10,000 pods takes
(full objects and metadata-only), and how many watch events per second it delivers
to 20 concurrent watchers. This script measures that; it asserts nothing about time.

The server runs in this process (`LocalCluster(ClusterConfig(mode="none"))`: no
kubelet, pods are only stored) and every LIST and watch goes over real HTTPS. By
default the clients are threads of this process, so they share the interpreter, the
GIL and the garbage collector with the server (as in `podherd run`, which embeds the
cluster); `--clients process` moves them into one spawned child process instead.
Watch events are generated twice: through the real write path (`Api.patch`) and
straight into the store, which isolates the fan-out itself.

    python benchmarks/cluster_bench.py                    # full size (about 1.5 minutes on 2 cores)
    python benchmarks/cluster_bench.py --quick            # small sizes, well under a minute; to a temporary directory
    python benchmarks/cluster_bench.py --clients process  # clients outside the server's process
    python benchmarks/cluster_bench.py --profile          # also print cProfile tops of the server
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import json
import multiprocessing
import os
import platform
import pstats
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
import urllib3

if __package__ in (None, ""):  # run as `python benchmarks/cluster_bench.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import output_dir
from podherd.localcluster.apimachinery.kinds import PODS
from podherd.localcluster.apiserver.server import ClusterConfig, LocalCluster
from podherd.localcluster.registry.listing import parse_list_options, run_list

RESULTS = Path(__file__).resolve().parent / "results"
NAMESPACE = "bench"
SELECTED_OWNER = "7"
SELECTOR = f"owner={SELECTED_OWNER}"
ACCEPT_JSON = "application/json"
ACCEPT_PARTIAL = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
MERGE_PATCH = "application/merge-patch+json"
PAGE_LIMIT = 500
FULL = {"pods": 50_000, "selected": 10_000, "watchers": 20, "events": 5_000, "repeats": 11, "http_sample": 1_000}
QUICK = {"pods": 5_000, "selected": 1_000, "watchers": 5, "events": 1_000, "repeats": 3, "http_sample": 200}
VARIANTS = {
    "full_models": "(a) full objects, official client models (CoreV1Api.list_namespaced_pod)",
    "full_raw": "(b) full objects, raw JSON (_preload_content=False + orjson.loads)",
    "metadata_raw": "(c) metadata-only (as=PartialObjectMetadataList), raw JSON",
    "paged_raw": f"(d) full objects paged limit={PAGE_LIMIT}, raw JSON (all pages)",
}


# ---- small helpers -------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), so small samples still give a sensible p90."""
    if not values:
        return 0.0
    s = sorted(values)
    pos = (len(s) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000.0 for s in seconds]
    return {
        "median_ms": round(statistics.median(ms), 3),
        "p90_ms": round(percentile(ms, 90), 3),
        "min_ms": round(min(ms), 3),
        "max_ms": round(max(ms), 3),
        "samples_ms": [round(x, 3) for x in ms],
    }


def is_selected(i: int, pods: int, selected: int) -> bool:
    """Spread exactly `selected` of `pods` evenly, so a LIST must scan the whole namespace to find them."""
    return (i + 1) * selected // pods > i * selected // pods


def pod_name(i: int) -> str:
    return f"pod-{i:06d}"


def pod_body(i: int, owner: str) -> dict[str, Any]:
    """A pod shaped like the ones podherd creates: a few labels and annotations, one container with env."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name(i),
            "labels": {"app": "podherd-bench", "owner": owner, "podherd.io/task": f"task-{i}"},
            "annotations": {"podherd.io/attempt": "1", "podherd.io/spec-hash": f"{i * 2654435761 % 2**32:08x}"},
        },
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "main",
                    "image": "python:3.11-slim",
                    "command": ["python", "-m", "worker"],
                    "args": ["--task", f"task-{i}", "--owner", owner],
                    "env": [
                        {"name": "PODHERD_TASK", "value": f"task-{i}"},
                        {"name": "PODHERD_OWNER", "value": owner},
                        {"name": "PYTHONUNBUFFERED", "value": "1"},
                    ],
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"cpu": "500m", "memory": "256Mi"},
                    },
                }
            ],
        },
    }


def owner_of(i: int, pods: int, selected: int) -> str:
    return SELECTED_OWNER if is_selected(i, pods, selected) else str(100 + i % 89)


@contextlib.contextmanager
def profiled(enabled: bool, title: str, sink: list[str], top: int = 25) -> Iterator[None]:
    """cProfile the current thread (call it on the cluster loop to see server time) and keep the top."""
    if not enabled:
        yield
        return
    prof = cProfile.Profile()
    prof.enable()
    try:
        yield
    finally:
        prof.disable()
        sink.append(profile_text(prof, title, top))


def profile_text(prof: cProfile.Profile, title: str, top: int = 25) -> str:
    """Both orders: cumulative shows which call path is slow, tottime which function burns the CPU."""
    parts = [f"==== server profile: {title} ===="]
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(order).print_stats(top)
        parts.append(f"-- by {order} --\n{out.getvalue().strip()}")
    return "\n".join(parts) + "\n"


class GcMonitor:
    """Collections and their pauses during a phase: a full collection stops every thread, server included."""

    def __init__(self) -> None:
        self.counts = [0, 0, 0]
        self.pause_s = [0.0, 0.0, 0.0]
        self.max_pause_s = 0.0
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        gen = int(info["generation"])
        dt = time.perf_counter() - self._started
        self.counts[gen] += 1
        self.pause_s[gen] += dt
        self.max_pause_s = max(self.max_pause_s, dt)

    def __enter__(self) -> GcMonitor:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def result(self) -> dict[str, Any]:
        return {
            "collections": {f"gen{g}": self.counts[g] for g in range(3)},
            "pause_ms": {f"gen{g}": round(self.pause_s[g] * 1000, 1) for g in range(3)},
            "max_pause_ms": round(self.max_pause_s * 1000, 1),
        }


class Timer:
    """perf_counter stopwatch: the time a block took, in seconds."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


# ---- 1. load ---------------------------------------------------------------------------------------
def http_headers(cluster: LocalCluster, accept: str = ACCEPT_JSON) -> dict[str, str]:
    return {"Authorization": f"Bearer {cluster.token}", "Accept": accept, "Content-Type": "application/json"}


def load_pods(
    cluster: LocalCluster, pods: int, selected: int, http_sample: int, batch: int, profile: bool, sink: list[str]
) -> dict[str, Any]:
    """Create the pods: the first `http_sample` one by one over HTTPS, the rest in batches on the loop.

    50k HTTPS round trips are slow and measure the client as much as the server, so the bulk goes
    through the server's own `Api.create` (validation, defaults, store, watch fan-out) on its loop.
    """
    cluster.call(cluster.api.create_namespace_object, NAMESPACE)
    http_sample = min(http_sample, pods)
    pool = urllib3.PoolManager(ca_certs=cluster.ca_file, maxsize=1) if cluster.ca_file else urllib3.PoolManager()
    url = f"{cluster.url}/api/v1/namespaces/{NAMESPACE}/pods"
    headers = http_headers(cluster)
    with Timer() as http_t:
        for i in range(http_sample):
            r = pool.request("POST", url, body=orjson.dumps(pod_body(i, owner_of(i, pods, selected))), headers=headers)
            if r.status != 201:
                raise RuntimeError(f"HTTP create of {pod_name(i)} failed: {r.status} {r.data[:300]!r}")
    pool.clear()

    def create_batch(bodies: list[dict[str, Any]], prof: bool) -> None:
        with profiled(prof, f"Api.create x {len(bodies)} (one load batch)", sink):
            for body in bodies:
                cluster.api.create(PODS, NAMESPACE, body, "cluster-bench")

    with Timer() as bulk_t:
        for lo in range(http_sample, pods, batch):
            hi = min(pods, lo + batch)
            bodies = [pod_body(i, owner_of(i, pods, selected)) for i in range(lo, hi)]
            cluster.call(create_batch, bodies, profile and lo == http_sample)
    bulk = pods - http_sample
    stored = cluster.call(cluster.store.count, "pods")
    sample_obj = cluster.call(cluster.store.get, "pods", (NAMESPACE, pod_name(pods - 1)))
    total_s = http_t.seconds + bulk_t.seconds
    return {
        "method": (
            f"first {http_sample} pods one by one over {'HTTPS' if cluster.ca_file else 'HTTP'} (urllib3 POST, keep-alive); the other {bulk} "
            f"through Api.create on the cluster loop via cluster.call, in batches of {batch}"
        ),
        "pods_stored": stored,
        "selected": selected,
        "pod_json_bytes": len(orjson.dumps(sample_obj)),
        "http": {
            "pods": http_sample,
            "seconds": round(http_t.seconds, 3),
            "pods_per_s": round(http_sample / http_t.seconds, 1) if http_sample else 0.0,
        },
        "in_process": {
            "pods": bulk,
            "batch": batch,
            "seconds": round(bulk_t.seconds, 3),
            "pods_per_s": round(bulk / bulk_t.seconds, 1) if bulk else 0.0,
        },
        "total_seconds": round(total_s, 3),
        "overall_pods_per_s": round(pods / total_s, 1),
    }


# ---- clients: threads of this process, or a spawned child process ---------------------------------------
@dataclass(frozen=True)
class Conn:
    """What a client needs to reach the cluster; picklable, so a child process can use it too."""

    url: str
    token: str
    ca_file: str | None

    @classmethod
    def of(cls, cluster: LocalCluster) -> Conn:
        return cls(cluster.url, cluster.token, cluster.ca_file)


def client_executor(mode: str) -> Executor:
    """`thread`: clients share this interpreter (and GIL, and GC) with the server, as in `podherd run`.

    `process`: clients run in one spawned child process (never fork: the server's threads and heap must
    not be copied), so the server process's CPU and GC work is the server's own. perf_counter is
    CLOCK_MONOTONIC on Linux, so times taken in the child compare with commit times taken here.
    """
    if mode == "process":
        return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-client")


# ---- 2. LIST latency ---------------------------------------------------------------------------------
@dataclass
class ListSample:
    seconds: float
    bytes: int
    items: int
    requests: int = 1
    headers_s: float = 0.0  # request sent -> response headers in (server select + render + dumps + queueing)
    body_s: float = 0.0  # reading the body (transfer, TLS decrypt)
    parse_s: float = 0.0  # orjson.loads on the client
    gc_s: float = 0.0  # GC pauses in the client's process during the request


class ListClient:
    """The four ways a client reads the selected pods, all over one official ApiClient (same pool, TLS)."""

    def __init__(self, conn: Conn) -> None:
        from kubernetes import client

        cfg = client.Configuration()
        cfg.host = conn.url
        cfg.api_key = {"authorization": conn.token}
        cfg.api_key_prefix = {"authorization": "Bearer"}
        if conn.ca_file:
            cfg.ssl_ca_cert = conn.ca_file
        self.api_client = client.ApiClient(cfg)
        self.api_client.user_agent = "cluster-bench"
        self.last_response: Any = None
        original = self.api_client.call_api

        def recording_call_api(*args: Any, **kwargs: Any) -> Any:
            self.last_response = original(*args, **kwargs)
            return self.last_response

        self.api_client.call_api = recording_call_api  # to count the bytes behind the parsed models
        self.core = client.CoreV1Api(self.api_client)

    def full_models(self) -> ListSample:
        with Timer() as t:
            pods = self.core.list_namespaced_pod(NAMESPACE, label_selector=SELECTOR, _request_timeout=600)
        return ListSample(t.seconds, len(self.last_response.data), len(pods.items))

    def _raw(self, accept: str, **params: Any) -> tuple[dict[str, Any], ListSample]:
        """One raw request; with _preload_content=False the call returns once the headers are in."""
        t0 = time.perf_counter()
        resp = self.core.list_namespaced_pod(
            NAMESPACE, label_selector=SELECTOR, _preload_content=False, _headers={"Accept": accept},
            _request_timeout=600, **params,
        )  # fmt: skip
        t1 = time.perf_counter()
        data = resp.data
        t2 = time.perf_counter()
        doc = orjson.loads(data)
        t3 = time.perf_counter()
        return doc, ListSample(t3 - t0, len(data), len(doc["items"]), 1, t1 - t0, t2 - t1, t3 - t2)

    def full_raw(self) -> ListSample:
        return self._raw(ACCEPT_JSON)[1]

    def metadata_raw(self) -> ListSample:
        doc, sample = self._raw(ACCEPT_PARTIAL)
        if doc.get("kind") != "PartialObjectMetadataList":
            raise RuntimeError(f"expected a PartialObjectMetadataList, got {doc.get('kind')!r}")
        return sample

    def paged_raw(self) -> ListSample:
        total = ListSample(0.0, 0, 0, 0)
        token: str | None = None
        with Timer() as t:
            while True:
                extra: dict[str, Any] = {"limit": PAGE_LIMIT}
                if token:
                    extra["_continue"] = token
                doc, page = self._raw(ACCEPT_JSON, **extra)
                total.bytes += page.bytes
                total.items += page.items
                total.requests += 1
                total.headers_s += page.headers_s
                total.body_s += page.body_s
                total.parse_s += page.parse_s
                token = doc["metadata"].get("continue")
                if not token:
                    break
        total.seconds = t.seconds
        return total

    def close(self) -> None:
        self.api_client.close()


def run_list_clients(conn: Conn, selected: int, repeats: int) -> dict[str, list[ListSample]]:
    """Round-robin the variants `repeats` times after one unmeasured warm-up, so drift hits all alike."""
    lc = ListClient(conn)
    fns: dict[str, Callable[[], ListSample]] = {
        "full_models": lc.full_models,
        "full_raw": lc.full_raw,
        "metadata_raw": lc.metadata_raw,
        "paged_raw": lc.paged_raw,
    }
    samples: dict[str, list[ListSample]] = {k: [] for k in fns}
    try:
        for name, fn in fns.items():  # warm-up: sorts the store's keys, opens the connection, fills caches
            got = fn().items
            if got != selected:
                raise RuntimeError(f"{name}: LIST returned {got} pods, expected {selected}")
        for _ in range(repeats):
            for name, fn in fns.items():
                with GcMonitor() as gcm:
                    sample = fn()
                sample.gc_s = sum(gcm.pause_s)
                samples[name].append(sample)
    finally:
        lc.close()
    return samples


def server_side_list(cluster: LocalCluster, accept: str, profile: bool, sink: list[str]) -> dict[str, float]:
    """Time the handler work on the loop without HTTP: selection (run_list) and the whole list_body."""

    async def measure() -> dict[str, float]:
        q = {"labelSelector": SELECTOR}
        t0 = time.perf_counter()
        items, _meta = await run_list(cluster.store, PODS, NAMESPACE, parse_list_options(q, PODS, watch=False))
        t1 = time.perf_counter()
        with profiled(profile, f"list_body Accept={accept}", sink):
            body = await cluster.handlers.read.list_body(PODS, NAMESPACE, q, accept, "Metadata")
        t2 = time.perf_counter()
        return {"select_s": t1 - t0, "list_body_s": t2 - t1, "items": len(items), "bytes": len(body)}

    assert cluster.loop is not None
    return asyncio.run_coroutine_threadsafe(measure(), cluster.loop).result(timeout=600)


def bench_list(
    cluster: LocalCluster, clients: Executor, selected: int, repeats: int, profile: bool, sink: list[str]
) -> dict[str, Any]:
    """LIST latency over HTTP(S) from the client side, then the server's own share of it without HTTP."""
    with GcMonitor() as server_gc:
        samples = clients.submit(run_list_clients, Conn.of(cluster), selected, repeats).result()
    variants: dict[str, Any] = {}
    for name, ss in samples.items():
        variants[name] = {
            "description": VARIANTS[name],
            **summary_ms([s.seconds for s in ss]),
            "bytes": ss[-1].bytes,
            "items": ss[-1].items,
            "requests": ss[-1].requests,
            "client_process_gc_median_ms": round(statistics.median(s.gc_s for s in ss) * 1000, 3),
        }
        if name != "full_models":
            variants[name]["breakdown_median_ms"] = {
                "to_headers": round(statistics.median(s.headers_s for s in ss) * 1000, 3),
                "read_body": round(statistics.median(s.body_s for s in ss) * 1000, 3),
                "client_parse": round(statistics.median(s.parse_s for s in ss) * 1000, 3),
            }
    base = variants["full_raw"]["median_ms"]
    for v in variants.values():
        v["ratio_vs_full_raw"] = round(v["median_ms"] / base, 3) if base else 0.0

    server: dict[str, Any] = {}
    for label, accept in (("full", ACCEPT_JSON), ("metadata", ACCEPT_PARTIAL)):
        runs = [server_side_list(cluster, accept, profile and i == 0, sink) for i in range(repeats)]
        server[label] = {
            "select_median_ms": round(statistics.median(r["select_s"] for r in runs) * 1000, 3),
            "list_body_median_ms": round(statistics.median(r["list_body_s"] for r in runs) * 1000, 3),
            "list_body_p90_ms": round(percentile([r["list_body_s"] * 1000 for r in runs], 90), 3),
            "bytes": int(runs[-1]["bytes"]),
        }
    server["note"] = (
        "handler work timed on the cluster loop without HTTP: select = run_list (scan + label match), "
        "list_body = options + run_list + rendering + orjson.dumps"
    )
    return {
        "selector": SELECTOR,
        "namespace_pods": cluster.call(lambda: sum(1 for _ in cluster.store.items("pods", NAMESPACE))),
        "repeats": repeats,
        "variants": variants,
        "server_side": server,
        "server_process_gc": server_gc.result(),
    }


# ---- 3. watch throughput --------------------------------------------------------------------------------
class WatchReader(threading.Thread):
    """One watcher: its own HTTP(S) connection, reading the chunked stream until it saw `expected` events."""

    def __init__(self, conn: Conn, index: int, rv: str, expected: int, timeout_s: int) -> None:
        super().__init__(name=f"bench-watch-{index}", daemon=True)
        self.expected = expected
        self.received: list[tuple[int, float]] = []  # (sequence number, perf_counter when its chunk arrived)
        self.error: str | None = None
        parts = urlsplit(conn.url)
        assert parts.hostname is not None and parts.port is not None
        if conn.ca_file:
            self.pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
                parts.hostname, parts.port, maxsize=1, ca_certs=conn.ca_file
            )
        else:
            self.pool = urllib3.HTTPConnectionPool(parts.hostname, parts.port, maxsize=1)
        query = urlencode({"watch": "true", "resourceVersion": rv, "timeoutSeconds": str(timeout_s)})
        self.path = f"/api/v1/namespaces/{NAMESPACE}/pods?{query}"
        self.headers = {"Authorization": f"Bearer {conn.token}", "Accept": ACCEPT_JSON}
        self.timeout_s = timeout_s

    def run(self) -> None:
        try:
            resp = self.pool.urlopen(
                "GET",
                self.path,
                headers=self.headers,
                preload_content=False,
                retries=False,
                timeout=urllib3.Timeout(connect=30, read=self.timeout_s + 30),
            )
            if resp.status != 200:
                raise RuntimeError(f"watch failed: {resp.status} {resp.data[:300]!r}")
            buf = b""
            for chunk in resp.stream(1 << 16):
                now = time.perf_counter()
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if not line:
                        continue
                    ev = orjson.loads(line)
                    if ev["type"] not in ("ADDED", "MODIFIED"):
                        continue
                    seq = (ev["object"]["metadata"].get("labels") or {}).get("bench-seq")
                    if seq is not None:
                        self.received.append((int(seq), now))
                if len(self.received) >= self.expected:
                    break
            resp.close()
        except Exception as e:  # reported by the caller
            self.error = repr(e)
        finally:
            self.pool.close()


def run_watchers(conn: Conn, rv: str, watchers: int, expected: int, timeout_s: int) -> list[dict[str, Any]]:
    """Start the watchers, wait until each has `expected` events (or failed); return what each saw."""
    readers = [WatchReader(conn, i, rv, expected, timeout_s) for i in range(watchers)]
    for r in readers:
        r.start()
    for r in readers:
        r.join(timeout=timeout_s + 60)
    return [{"received": r.received, "error": r.error or ("still running" if r.is_alive() else None)} for r in readers]


WRITE_PATHS = {
    "api_patch": "merge patches through Api.patch (patch, defaults, validation, store) on the cluster loop",
    "store_update": "label changes committed straight to Store.update on the cluster loop (fan-out only)",
}


def bench_watch(
    cluster: LocalCluster,
    clients: Executor,
    pods: int,
    watchers: int,
    events: int,
    batch: int,
    write: str,
    profile: bool,
    sink: list[str],
) -> dict[str, Any]:
    """Burst `events` label changes into the watched namespace; time until every watcher has all of them.

    Each watcher starts at the current resourceVersion (no initial ADDED replay of the stored pods),
    watches every pod of the namespace and so must receive every event. `write` picks how events
    are made: `api_patch` is the real write path (its cost bounds the rate), `store_update` commits
    to the store directly so that only the watch fan-out (queues, encoding, TLS writes) is measured.
    Each event's commit time is taken on the loop right after the store committed it.
    """
    rv = str(cluster.call(lambda: cluster.store.rv))
    before = cluster.call(lambda: len(cluster.store.watchers()))
    future = clients.submit(run_watchers, Conn.of(cluster), rv, watchers, events, 900)
    deadline = time.monotonic() + 120
    while cluster.call(lambda: len(cluster.store.watchers())) < before + watchers:
        if future.done():
            raise RuntimeError(f"watchers ended before the events: {[r['error'] for r in future.result()]}")
        if time.monotonic() > deadline:
            raise RuntimeError("watchers did not all register within 120 s")
        time.sleep(0.01)

    names = [pod_name(i) for i in range(min(pods, events))]
    commit = [0.0] * events
    patches = [orjson.dumps({"metadata": {"labels": {"bench-seq": str(k)}}}) for k in range(events)]

    def patch_batch(lo: int, hi: int) -> None:
        for k in range(lo, hi):
            cluster.api.patch(PODS, NAMESPACE, names[k % len(names)], MERGE_PATCH, patches[k])
            commit[k] = time.perf_counter()

    def store_batch(lo: int, hi: int) -> None:
        store = cluster.store
        for k in range(lo, hi):
            key = (NAMESPACE, names[k % len(names)])
            old = store.get("pods", key)
            assert old is not None
            meta = old["metadata"]
            labels = {**(meta.get("labels") or {}), "bench-seq": str(k)}
            store.update("pods", key, {**old, "metadata": {**meta, "labels": labels}})
            commit[k] = time.perf_counter()

    generate = patch_batch if write == "api_patch" else store_batch
    prof = cProfile.Profile() if profile else None
    if prof is not None:
        cluster.call(prof.enable)  # the loop thread only: writes + fan-out + encoding + socket writes
    with GcMonitor() as gcm:
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        for lo in range(0, events, batch):
            cluster.call(generate, lo, min(events, lo + batch))
        t_generated = time.perf_counter()
        seen = future.result()
        t_joined = time.perf_counter()
        cpu = time.process_time() - cpu0
    if prof is not None:
        cluster.call(prof.disable)
        sink.append(profile_text(prof, f"cluster loop during the watch burst ({write})", 30))
    errors = [r["error"] for r in seen if r["error"]]
    if errors:
        raise RuntimeError(f"watchers failed: {errors}")

    first_commit = commit[0]
    last_recv = max((r["received"][-1][1] for r in seen if r["received"]), default=t_joined)
    delivered = sum(len(r["received"]) for r in seen)
    per_watcher = []
    all_lags: list[float] = []
    for r in seen:
        lags = [(t - commit[seq]) * 1000 for seq, t in r["received"]]
        all_lags.extend(lags)
        per_watcher.append(
            {
                "received": len(r["received"]),
                "missing": events - len({seq for seq, _ in r["received"]}),
                "lag_p50_ms": round(percentile(lags, 50), 3),
                "lag_p99_ms": round(percentile(lags, 99), 3),
            }
        )
    span = last_recv - first_commit
    return {
        "write_path": write,
        "method": (
            f"{watchers} watcher threads, each with its own {'HTTPS' if cluster.ca_file else 'HTTP'} connection watching all "
            f"pods of namespace {NAMESPACE!r} from resourceVersion={rv}; {events} events generated in a burst as "
            f"{WRITE_PATHS[write]} ({batch} per cluster.call); clients parse every event with orjson"
        ),
        "watchers": watchers,
        "events": events,
        "delivered": delivered,
        "expected": watchers * events,
        "missing_total": sum(w["missing"] for w in per_watcher),
        "generation_seconds": round(t_generated - t0, 3),
        "generation_events_per_s": round(events / (t_generated - t0), 1),
        "delivery_seconds": round(span, 3),
        "delivered_events_per_s": round(delivered / span, 1) if span > 0 else 0.0,
        "lag_p50_ms": round(percentile(all_lags, 50), 3),
        "lag_p99_ms": round(percentile(all_lags, 99), 3),
        "median_watcher_lag_p50_ms": round(statistics.median(w["lag_p50_ms"] for w in per_watcher), 3),
        "worst_watcher_lag_p99_ms": max(w["lag_p99_ms"] for w in per_watcher),
        "server_process_cpu_seconds": round(cpu, 3),
        "server_process_cpu_per_wall": round(cpu / (t_joined - t0), 3),
        "server_process_gc": gcm.result(),
        "per_watcher": per_watcher,
    }


# ---- reporting -----------------------------------------------------------------------------------
def git_state(here: Path | None = None) -> tuple[str, bool | None]:
    """(short commit, whether the checkout had uncommitted changes to tracked files); ("", None) outside git.

    Results files are outputs, not code: a published result written earlier in the same session
    of runs does not make the next run dirty.

    Of this checkout, or of the one at `here`."""
    here = here or Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, cwd=here).stdout

    try:
        commit = git("rev-parse", "--short", "HEAD").strip()
        changed = git(
            "status", "--porcelain", "--untracked-files=no", "--", ":(top)", ":(top,exclude)benchmarks/results"
        )
        dirty = bool(changed.strip()) if commit else None
    except (OSError, subprocess.SubprocessError):
        return "", None
    return commit, dirty


def machine_info() -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    nproc: int | None
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count()
    versions = {}
    for pkg in ("kubernetes", "aiohttp", "orjson", "urllib3"):
        try:
            versions[pkg] = importlib_metadata.version(pkg)
        except importlib_metadata.PackageNotFoundError:
            versions[pkg] = "?"
    commit, dirty = git_state()
    return {
        "nproc": nproc,
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
        "git_commit": commit,
        "git_dirty": dirty,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average": [round(x, 2) for x in os.getloadavg()],  # 1, 5, 15 min when the run started: was it quiet?
    }


def fmt_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], markdown: bool) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    if markdown:
        lines = ["| " + " | ".join(cells[0]) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in cells[1:]]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def gc_line(g: dict[str, Any]) -> str:
    c, p = g["collections"], g["pause_ms"]
    return (
        f"GC in this phase: gen0/1/2 collections {c['gen0']}/{c['gen1']}/{c['gen2']}, "
        f"pauses {p['gen0']}/{p['gen1']}/{p['gen2']} ms, longest {g['max_pause_ms']} ms"
    )


def render(results: dict[str, Any], markdown: bool) -> str:
    """The human-readable report; the same content for stdout and the Markdown file."""
    p, m, load = results["params"], results["machine"], results["load"]
    lst, watch = results["list"], results["watch"]
    h = "## " if markdown else ""
    code = "`" if markdown else ""
    out = [
        f"{'# ' if markdown else ''}podherd local cluster benchmark",
        "",
        f"Command: {code}{results['command']}{code}",
        "",
        f"Machine: nproc={m['nproc']}, {m['cpu_model'] or 'cpu ?'}, Python {m['python']} ({m['implementation']}), "
        f"{m['platform']}; kubernetes {m['packages']['kubernetes']}, aiohttp {m['packages']['aiohttp']}, "
        f"orjson {m['packages']['orjson']}, urllib3 {m['packages']['urllib3']}; git {m['git_commit'] or '?'}; "
        f"{m['date_utc']}",
        "",
        f"Server: LocalCluster(ClusterConfig(mode='none')) in the benchmark's process, "
        f"{'HTTPS' if p['tls'] else 'plain HTTP'} on 127.0.0.1. Clients: "
        + (
            "threads of the same process, sharing its interpreter, GIL and GC with the server (as in `podherd run`)"
            if p["clients"] == "thread"
            else "threads of one spawned child process (the server process does only server work)"
        )
        + ("; gc.freeze() after the load" if p["gc_freeze"] else "")
        + ".",
        "",
        f"{h}1. Load ({p['pods']} pods, {p['selected']} with {SELECTOR})",
        "",
        f"Method: {load['method']}. Stored pod JSON: {load['pod_json_bytes']} bytes each.",
        "",
        fmt_table(
            ["path", "pods", "seconds", "pods/s"],
            [
                [
                    f"{'HTTPS' if p['tls'] else 'HTTP'} one by one",
                    load["http"]["pods"],
                    load["http"]["seconds"],
                    load["http"]["pods_per_s"],
                ],
                [
                    "Api.create on the loop, batched",
                    load["in_process"]["pods"],
                    load["in_process"]["seconds"],
                    load["in_process"]["pods_per_s"],
                ],
                ["total", load["pods_stored"], load["total_seconds"], load["overall_pods_per_s"]],
            ],
            markdown,
        ),
        "",
        "Server process " + gc_line(load["server_process_gc"]) + ".",
        "",
        f"{h}2. LIST {SELECTOR} in a namespace of {lst['namespace_pods']} pods "
        f"(returns {p['selected']}; {lst['repeats']} repeats after a warm-up)",
        "",
        fmt_table(
            [
                "variant",
                "median ms",
                "p90 ms",
                "x (b)",
                "bytes",
                "requests",
                "headers / body / parse ms",
                "client GC ms",
            ],
            [
                [
                    v["description"],
                    v["median_ms"],
                    v["p90_ms"],
                    v["ratio_vs_full_raw"],
                    v["bytes"],
                    v["requests"],
                    " / ".join(str(x) for x in v["breakdown_median_ms"].values())
                    if "breakdown_median_ms" in v
                    else "-",
                    v["client_process_gc_median_ms"],
                ]
                for v in lst["variants"].values()
            ],
            markdown,
        ),
        "",
        "headers = request sent until response headers arrived (includes the server's whole list_body); "
        "body = reading the body; parse = orjson.loads on the client; client GC = GC pauses in the client's "
        "process during the request (medians).",
        "",
        "Server-side, the handler on the loop without HTTP (median; select = run_list, "
        "list_body = select + rendering + orjson.dumps): "
        + "; ".join(
            f"{k}: select {s['select_median_ms']} ms, list_body {s['list_body_median_ms']} ms "
            f"(p90 {s['list_body_p90_ms']})"
            for k, s in lst["server_side"].items()
            if isinstance(s, dict)
        )
        + ".",
        "",
        "Server process " + gc_line(lst["server_process_gc"]) + ".",
        "",
        f"{h}3. Watch fan-out ({p['watchers']} watchers x {p['events']} events)",
        "",
    ]
    runs = list(watch.values())
    for w in runs:
        out += [f"- {w['write_path']}: {w['method']}."]
    out += [
        "",
        fmt_table(
            ["metric", *[w["write_path"] for w in runs]],
            [
                ["delivered / expected", *[f"{w['delivered']} / {w['expected']}" for w in runs]],
                ["missing", *[w["missing_total"] for w in runs]],
                ["delivered events/s (all watchers)", *[w["delivered_events_per_s"] for w in runs]],
                ["delivery span s (first commit to last arrival)", *[w["delivery_seconds"] for w in runs]],
                ["events generated /s", *[w["generation_events_per_s"] for w in runs]],
                ["lag p50 / p99 ms (all events)", *[f"{w['lag_p50_ms']} / {w['lag_p99_ms']}" for w in runs]],
                ["per-watcher lag p50 (median) ms", *[w["median_watcher_lag_p50_ms"] for w in runs]],
                ["per-watcher lag p99 (worst) ms", *[w["worst_watcher_lag_p99_ms"] for w in runs]],
                ["server process CPU s / wall s", *[w["server_process_cpu_per_wall"] for w in runs]],
                [
                    "gen2 GCs / longest pause ms",
                    *[
                        f"{w['server_process_gc']['collections']['gen2']} / {w['server_process_gc']['max_pause_ms']}"
                        for w in runs
                    ],
                ],
            ],
            markdown,
        ),
        "",
        "Lag = arrival of the chunk holding the event minus its commit on the loop. Events come in a burst, so "
        "lag includes queueing behind earlier events; the delivered rate is bounded by the generation rate.",
    ]
    return "\n".join(out) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, help=f"pods stored (default {FULL['pods']}, quick {QUICK['pods']})")
    ap.add_argument("--selected", type=int, help=f"pods with {SELECTOR} (default {FULL['selected']})")
    ap.add_argument("--watchers", type=int, help=f"concurrent watchers (default {FULL['watchers']})")
    ap.add_argument("--events", type=int, help=f"pod modifications to fan out (default {FULL['events']})")
    ap.add_argument("--repeats", type=int, help=f"measured repeats per LIST variant (default {FULL['repeats']})")
    ap.add_argument("--http-sample", type=int, help="pods created one by one over HTTPS before the bulk load")
    ap.add_argument("--load-batch", type=int, default=1000, help="pods per cluster.call during the bulk load")
    ap.add_argument("--event-batch", type=int, default=50, help="events per cluster.call during the watch burst")
    ap.add_argument(
        "--watch-writes",
        choices=[*WRITE_PATHS, "both"],
        default="both",
        help="how watch events are generated: the real Api.patch path, straight Store.update, or both runs",
    )
    ap.add_argument(
        "--quick", action="store_true", help="small sizes, well under a minute; to a temporary directory unless --out"
    )
    ap.add_argument(
        "--clients",
        choices=["thread", "process"],
        default="thread",
        help="run the LIST client and the watchers as threads of this process or in one spawned child process",
    )
    ap.add_argument("--plain-http", action="store_true", help="serve plain HTTP instead of HTTPS")
    ap.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after the load (what-if for GC pauses)")
    ap.add_argument("--profile", action="store_true", help="print cProfile tops of the server's load/list/watch work")
    ap.add_argument("--out", type=Path, help=f"output directory (default {RESULTS.relative_to(RESULTS.parents[1])})")
    args = ap.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    for key, default in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    if not 0 < args.selected <= args.pods or args.watchers < 1 or args.events < 1 or args.repeats < 1:
        ap.error("need 0 < --selected <= --pods, --watchers >= 1, --events >= 1, --repeats >= 1")
    args.out = output_dir(args.out, args.quick, "cluster-bench", RESULTS)
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run all three measurements, print the report, write JSON + Markdown into --out; return the results."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    command = " ".join(["python", "benchmarks/cluster_bench.py", *argv])
    profiles: list[str] = []
    writes = list(WRITE_PATHS) if args.watch_writes == "both" else [args.watch_writes]
    cfg = ClusterConfig(mode="none", tls=not args.plain_http)
    with LocalCluster(cfg) as cluster, client_executor(args.clients) as clients:
        clients.submit(time.sleep, 0).result()  # start the child (imports) before anything is timed
        with GcMonitor() as gcm:
            load = load_pods(
                cluster, args.pods, args.selected, args.http_sample, args.load_batch, args.profile, profiles
            )
        load["server_process_gc"] = gcm.result()
        if args.gc_freeze:
            gc.collect()
            gc.freeze()
        lst = bench_list(cluster, clients, args.selected, args.repeats, args.profile, profiles)
        watch = {
            w: bench_watch(
                cluster, clients, args.pods, args.watchers, args.events, args.event_batch, w, args.profile, profiles
            )
            for w in writes
        }
    if args.gc_freeze:
        gc.unfreeze()
    results: dict[str, Any] = {
        "command": command,
        "params": {
            "pods": args.pods,
            "selected": args.selected,
            "watchers": args.watchers,
            "events": args.events,
            "repeats": args.repeats,
            "http_sample": args.http_sample,
            "load_batch": args.load_batch,
            "event_batch": args.event_batch,
            "watch_writes": writes,
            "quick": args.quick,
            "tls": not args.plain_http,
            "gc_freeze": args.gc_freeze,
            "clients": args.clients,
        },
        "machine": machine_info(),
        "load": load,
        "list": lst,
        "watch": watch,
    }
    print(render(results, markdown=False))
    for text in profiles:
        print(text)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "cluster_bench.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "cluster_bench.md").write_text(render(results, markdown=True), encoding="utf-8")
    print(f"wrote {out / 'cluster_bench.json'} and {out / 'cluster_bench.md'}")
    return results


if __name__ == "__main__":
    main()
