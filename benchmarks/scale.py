"""Scale: up to 100,000 long-running pods in 5 namespaces, watched by 3 replicas; where does it break first?

Issue 14 item 3. One step per size N (default 10k, 25k, 50k, 100k pods), each from scratch:

- **Cluster**: podherd's embedded cluster (simulate kubelet, audit log, default history and
  bookmarks) in its own spawned process, so its RSS and CPU are its own; a store listener there
  counts pods by owner and phase exactly (no polling lists) and stamps when pods turn Running.
- **Replicas**: 3 real `podherd scheduler` processes (the HA harness), SQLite (podherd's default;
  `--db postgres` for the other backend), podherd's default configuration (heartbeat 5 s, dead
  after 30 s, 200 QPS per replica) except `core.parallelism`, which is each replica's share.
- **Load**: N queued tasks (pods shaped like a real ETL task: args, env, resources) spread over 5
  namespaces, each simulated to run for a day, so every pod stays Running and in its owner's
  watch (`owner=<id>,done!=true`) for the whole step. The replicas create the pods themselves
  from their claims: the victim's parallelism is min(`--orphans`, N/3), the two others split the
  rest, so at 100k the survivors each hold 45,000 pods and the victim 10,000. Creating pods from
  real claims is the honest way: every pod is also an attempt the replica tracks and a database
  row it updated, as in production; pre-labelled pods would only fill the watch cache.

Per step it reports:

- **load**: time until all N pods are Running at the server and until the replicas have recorded
  them all (attempts `running` in the database), pods created per second, the API server's and
  replicas' CPU share, the server's create latency (audit log), a database write-lock probe (a
  no-op `BEGIN IMMEDIATE` transaction every 2 s), and the watch fan-out lag: a probe process
  watching one replica's pods in one namespace, exactly as its watch does, timing each pod's
  Running event against the instant the server committed it;
- **memory**: each replica's RSS growth over its idle, ready RSS, divided by the pods its watches
  hold (counted at the server), per 10k pods; of that, the watch cache alone (tracemalloc of one
  namespace's pods parsed and kept as the watcher keeps them); the API server's RSS per 10k pods;
- **sweep**: one completed-pod sweep as a survivor runs it right after the kill (the seed's
  selector with the alive set, `status.phase` Succeeded and Failed, metadata only, paged, all 5
  namespaces): median time, bytes, requests, pods returned; and one watch re-list (a 410's cost):
  one replica's pods in one namespace, full JSON;
- **takeover**: `kill -9` of the victim, then from the audit log: the first and the last
  successful claim (CAS patch) of its pods by a survivor, claims per second, who claimed, and
  /healthz answers of the survivors meanwhile; plus the HA invariants over the whole log (no pod
  created twice, no write to a live replica's pod);
- **limits**: each candidate limit against a stated threshold, and the first size crossing it.

    python benchmarks/scale.py                     # 10k, 25k, 50k, 100k pods (under an hour on 2 cores)
    python benchmarks/scale.py --quick             # 1,500 and 3,000 pods, a few minutes; to a temporary directory
    python benchmarks/scale.py --sizes 20000 --db postgres
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import time
import tracemalloc
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python benchmarks/scale.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson
from sqlalchemy import func, select, update

from benchmarks.cluster_bench import Conn, fmt_table, percentile
from benchmarks.common import configuration, header, output_dir, publish, pyplot, results_doc, save_figure
from benchmarks.throughput import DEFAULTS, phase
from podherd.core.executor.watcher import trimmed
from podherd.core.ha.planner import Policy, sweep_selector
from podherd.core.kube.client import KubeClient
from podherd.core.labels import PODHERD_SCHEME
from podherd.core.podstatus import TERMINAL_PHASES
from podherd.core.selectors import owner_selector
from podherd.localcluster.apiserver.server import ClusterConfig, LocalCluster
from podherd.localcluster.storage.store import Event
from podherd.standalone.db import queries
from podherd.standalone.db.models import Job, TaskAttempt
from podherd.standalone.db.tx import read_tx, write_tx
from podherd.standalone.taskfile import parse_tasks
from tests.ha.harness import Harness, cpu_seconds, free_port, peak_rss_mb
from tests.ha.invariants import Lifetime, audit_time, check, replica_of

RESULTS = Path(__file__).resolve().parent / "results"
NAMESPACES = tuple(f"scale-{i}" for i in range(5))
FULL_SIZES = "10000,25000,50000,100000"
QUICK_SIZES = "1500,3000"
TASK_SECONDS = 86_400  # a simulated day: every pod stays Running for the whole step
SAMPLE_EVERY = 2.0
SUBMIT_CHUNK = 5_000
QPS, BURST = 200, 400  # kube_client_qps and kube_client_burst defaults (the replicas run with them)


# ---- the cluster, in its own process ----------------------------------------------------------------
class PodTally:
    """Store listener (on the cluster's loop): pods by (owner, phase), and when pods of one namespace turned Running."""

    def __init__(self, stamp_namespace: str) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.stamp_namespace = stamp_namespace
        self.running_at: dict[str, tuple[float, str]] = {}  # pod name -> (when, owner)

    @staticmethod
    def key(pod: dict[str, Any]) -> tuple[str, str]:
        labels = pod["metadata"].get("labels") or {}
        done = labels.get(PODHERD_SCHEME.done_key) == PODHERD_SCHEME.done_value
        return labels.get(PODHERD_SCHEME.owner_key, ""), "done" if done else phase(pod) or "New"

    def __call__(self, ev: Event) -> None:
        if ev.resource != "pods":
            return
        if ev.old is not None:
            self.counts[self.key(ev.old)] -= 1
        if ev.type == "DELETED":
            return
        self.counts[self.key(ev.obj)] += 1
        if ev.key[0] == self.stamp_namespace and phase(ev.obj) == "Running" and phase(ev.old) != "Running":
            self.running_at.setdefault(ev.key[1], (time.time(), self.key(ev.obj)[0]))


def _answer(cluster: LocalCluster, tally: PodTally, cmd: str) -> Any:
    """One query, answered on the cluster's loop (where the store lives)."""
    if cmd == "counts":
        return {k: n for k, n in tally.counts.items() if n}
    if cmd == "stamps":
        return dict(tally.running_at)
    store = cluster.store
    return {
        "resource_version": store.rv,
        "history_window_rvs": store.rv - store.floor,
        "history_limit": store.history_limit,
        "watchers": len(store.watchers()),
        "compactions": store.compactions,
        "bookmark_interval_s": cluster.config.bookmark_interval,
        "requests": {f"{v} {r} {c}": n for (v, r, c), n in sorted(cluster.request_counts.items())},
    }


def serve_cluster(pipe: Connection, workdir: str) -> None:
    """The cluster process: start, create the namespaces, answer queries until told to stop."""
    cfg = ClusterConfig(mode="simulate", audit_log=Path(workdir) / "audit.jsonl")
    with LocalCluster(cfg) as cluster:
        for ns in NAMESPACES:
            cluster.call(cluster.api.create_namespace_object, ns)
        tally = PodTally(NAMESPACES[0])
        cluster.call(cluster.store.subscribe, tally)
        cluster.write_kubeconfig(Path(workdir) / "kubeconfig")
        pipe.send({"url": cluster.url, "token": cluster.token, "ca_file": cluster.ca_file})
        while (cmd := pipe.recv()) != "stop":
            pipe.send(cluster.call(_answer, cluster, tally, cmd))


class ClusterProcess:
    """The parent's handle on `serve_cluster`: its address, its pid, and queries over a pipe."""

    def __init__(self, workdir: Path) -> None:
        ctx = multiprocessing.get_context("spawn")  # never fork: this process has threads
        self.pipe, child = ctx.Pipe()
        self.proc = ctx.Process(target=serve_cluster, args=(child, str(workdir)), name="scale-cluster")
        self.proc.start()
        if not self.pipe.poll(180):
            self.proc.kill()
            raise RuntimeError("the cluster process did not start within 180 s")
        info = self.pipe.recv()
        self.conn = Conn(info["url"], info["token"], info["ca_file"])
        self.base_rss_mb = rss_mb(self.pid)

    @property
    def pid(self) -> int:
        assert self.proc.pid is not None
        return self.proc.pid

    def ask(self, cmd: str) -> Any:
        self.pipe.send(cmd)
        return self.pipe.recv()

    def stop(self) -> None:
        if self.proc.is_alive():
            self.pipe.send("stop")
            self.proc.join(60)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(10)


def rss_mb(pid: int | str = "self") -> float | None:
    """Current resident set size (VmRSS) of a live process, from /proc (Linux); None if unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


# ---- probes: the watch lag, the database write lock ----------------------------------------------------
def watch_probe(conn: Conn, namespace: str, selector: str, ready: Any, stop: Any, out: Any) -> None:
    """A watch like a replica's (same selector, bookmarks): when each pod's Running event arrived here."""
    kube = KubeClient(configuration(conn.url, conn.token, conn.ca_file), "podherd-bench-scale-probe", 1e9, 10**9)
    seen: dict[str, float] = {}
    errors = 0
    rv = kube.list_pods(namespace, selector)[1]
    ready.set()
    while not stop.is_set():
        try:
            for ev in kube.watch_pods(namespace, selector, rv, 5, 60):
                obj = ev.get("object") or {}
                if ev.get("type") == "ERROR":
                    raise RuntimeError(str(obj.get("message")))
                rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                if ev.get("type") in ("ADDED", "MODIFIED") and phase(obj) == "Running":
                    seen.setdefault(obj["metadata"]["name"], time.time())
        except Exception:  # a dropped stream or a 410: count it, re-list, go on
            errors += 1
            time.sleep(0.5)
            rv = kube.list_pods(namespace, selector)[1]
    out.put({"seen": seen, "errors": errors})


@contextmanager
def probing(conn: Conn, namespace: str, selector: str) -> Iterator[dict[str, Any]]:
    """Run `watch_probe` in a spawned process for the body; the dict then holds what it saw."""
    ctx = multiprocessing.get_context("spawn")
    ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=watch_probe, args=(conn, namespace, selector, ready, stop, out), name="scale-probe")
    proc.start()
    result: dict[str, Any] = {}
    try:
        if not ready.wait(180):
            raise RuntimeError("the watch probe did not start within 180 s")
        yield result
    finally:
        stop.set()
        try:
            result.update(out.get(timeout=120))
        except Exception:
            result.update(seen={}, errors=-1)
        proc.join(30)
        if proc.is_alive():
            proc.kill()


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine since boot, from /proc/stat (Linux)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def db_write_ms(h: Harness) -> float:
    """One no-op write transaction (BEGIN IMMEDIATE on SQLite): how long a writer waits for the lock."""
    t = time.perf_counter()
    with write_tx(h.engine) as conn:
        conn.execute(update(Job).where(Job.id == -1).values(hostname=Job.hostname))
    return round((time.perf_counter() - t) * 1000, 1)


def attempts_by_state(h: Harness) -> dict[str, int]:
    with read_tx(h.engine) as conn:
        return {
            str(s): int(n) for s, n in conn.execute(select(TaskAttempt.state, func.count()).group_by(TaskAttempt.state))
        }


def healthz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except Exception:
        return 0


# ---- the client-side measurements (in a fresh spawned process) -----------------------------------------
class RecordingKube(KubeClient):
    """podherd's client, counting requests and response bytes (and keeping the bodies when asked)."""

    def __init__(self, conn: Conn) -> None:
        super().__init__(configuration(conn.url, conn.token, conn.ca_file), "podherd-bench-scale", 1e9, 10**9)
        self.bytes_received = 0
        self.requests_made = 0
        self.bodies: list[bytes] | None = None

    def _json(self, verb: str, resource: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        resp = self._call(verb, resource, fn, *args, **kwargs)
        try:
            data = resp.data
            self.bytes_received += len(data)
            self.requests_made += 1
            if self.bodies is not None:
                self.bodies.append(data)
            return orjson.loads(data)
        finally:
            resp.release_conn()


def measure_lists(conn: Conn, me: str, alive: list[str], repeats: int) -> dict[str, Any]:
    """A survivor's completed-pod sweep (all namespaces, both phases), then one watch re-list and its cache size."""
    kube = RecordingKube(conn)
    selector = sweep_selector(Policy.PODHERD, me, alive, PODHERD_SCHEME)

    def sweep() -> tuple[float, int]:
        kube.bytes_received = kube.requests_made = 0
        t, items = time.perf_counter(), 0
        for ns in NAMESPACES:
            for ph in TERMINAL_PHASES:
                items += len(kube.list_pods(ns, selector, f"status.phase={ph}", metadata_only=True)[0])
        return time.perf_counter() - t, items

    sweep()  # warm-up: connections, the server's sorted keys
    times, items = zip(*(sweep() for _ in range(repeats)), strict=True)
    out: dict[str, Any] = {
        "sweep_selector": selector,
        "sweep_median_ms": round(statistics.median(times) * 1000, 1),
        "sweep_samples_ms": [round(x * 1000, 1) for x in times],
        "sweep_bytes": kube.bytes_received,
        "sweep_requests": kube.requests_made,
        "sweep_pods_returned": items[-1],
    }
    kube.bodies, kube.bytes_received, kube.requests_made = [], 0, 0
    t = time.perf_counter()
    pods = kube.list_pods(NAMESPACES[0], owner_selector(PODHERD_SCHEME, me))[0]
    out.update(
        relist_ms=round((time.perf_counter() - t) * 1000, 1), relist_pods=len(pods),
        relist_bytes=kube.bytes_received, relist_requests=kube.requests_made,
    )  # fmt: skip
    bodies, kube.bodies = kube.bodies, None
    del pods
    out["watch_cache_mb_per_10k"] = watch_cache_mb_per_10k(bodies)
    return out


def watch_cache_mb_per_10k(bodies: list[bytes]) -> float | None:
    """Python heap of pods kept as the watcher keeps them (`known`: uid -> pod, `_seen_rv`: uid -> int), per 10k."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    known: dict[str, dict[str, Any]] = {}
    seen: dict[str, int] = {}
    for body in bodies:
        for pod in orjson.loads(body).get("items") or []:
            uid = pod["metadata"]["uid"]
            known[uid], seen[uid] = trimmed(pod), int(pod["metadata"]["resourceVersion"])
    size = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return round(size / len(known) * 10_000 / 2**20, 1) if known else None


# ---- one step ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """One step: how many pods in all, and each replica's share (its `core.parallelism`)."""

    pods: int
    shares: dict[str, int]

    @classmethod
    def of(cls, pods: int, orphans: int) -> Plan:
        victim = min(orphans, pods // 3)
        rest = pods - victim
        return cls(pods, {"a": rest - rest // 2, "b": rest // 2, "victim": victim})


def task(i: int) -> dict[str, Any]:
    """Task i: an ETL-shaped pod (args, env, resources) in namespace i mod 5 that runs for a simulated day."""
    return {
        "name": f"etl-load-{i}",
        "image": "python:3.12-slim",
        "command": ["python3", "-m", "etl"],
        "args": ["--partition", str(i)],
        "env": {"BATCH": "2026-11-24", "SHARD": str(i % 16)},
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        "namespace": NAMESPACES[i % len(NAMESPACES)],
        "annotations": {"podherd.io/simulate-duration": str(TASK_SECONDS)},
    }


class Stalled(Exception):
    """A stage made no progress for too long, or a replica died: the step ends here, and says so."""


class Step:
    """One size, from scratch: cluster process, database, 3 replicas; load, measure, kill, take over."""

    def __init__(self, plan: Plan, args: argparse.Namespace, h: Harness, cluster: ClusterProcess) -> None:
        self.plan, self.args, self.h, self.cluster = plan, args, h, cluster
        self.ports = {name: free_port() for name in plan.shares}
        self.timeline: list[dict[str, Any]] = []
        self.t0 = time.time()
        self.ids: dict[str, str] = {}
        self.killed: set[str] = set()
        self.out: dict[str, Any] = {"pods": plan.pods, "shares": plan.shares, "completed": False, "broke": None}

    # ---- sampling -------------------------------------------------------------------------------------
    def sample(self, stage: str) -> dict[str, Any]:
        counts: dict[tuple[str, str], int] = self.cluster.ask("counts")
        live = {n: p for n, p in self.h.replicas.items() if n not in self.killed}
        row = {
            "t": round(time.time() - self.t0, 1),
            "stage": stage,
            "server_pods": sum(counts.values()),
            "server_running": sum(n for (_o, ph), n in counts.items() if ph == "Running"),
            "held": {name: self.held(counts, name) for name in self.ids},
            "server_rss_mb": rss_mb(self.cluster.pid),
            "server_cpu_s": cpu_seconds(self.cluster.pid),
            "db_attempts": attempts_by_state(self.h),
            "db_write_ms": db_write_ms(self.h),
            "replicas": {n: {"rss_mb": rss_mb(p.pid), "cpu_s": cpu_seconds(p.pid)} for n, p in live.items()},
        }
        if stage == "takeover":
            row["healthz"] = {n: healthz(self.ports[n]) for n in live}
        self.timeline.append(row)
        return row

    def held(self, counts: dict[tuple[str, str], int], name: str) -> int:
        """Pods a replica's watches hold: its own, not done (all phases)."""
        rid = self.ids.get(name)
        return sum(n for (owner, ph), n in counts.items() if owner == rid and ph != "done")

    def wait(
        self, stage: str, done: Callable[[dict[str, Any]], bool], progress: Callable[[dict[str, Any]], Any]
    ) -> float:
        """Sample until `done`; raise Stalled if `progress` has not changed for `--stall` seconds. Returns when."""
        last, since = None, time.monotonic()
        while True:
            row = self.sample(stage)
            if done(row):
                return time.time()
            dead = [n for n, p in self.h.replicas.items() if n not in self.killed and p.poll() is not None]
            if dead:
                raise Stalled(f"{stage}: replica {', '.join(dead)} exited ({self.h.logs()[-2000:]})")
            if (now := progress(row)) != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since > self.args.stall:
                raise Stalled(f"{stage}: no progress for {self.args.stall:.0f} s (last: {now})")
            time.sleep(SAMPLE_EVERY)

    # ---- stages -----------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        try:
            self.start()
            self.load()
            self.measure()
            self.take_over()
            self.out["completed"] = True
        except (Stalled, AssertionError) as e:  # AssertionError: the harness timed out starting something
            self.out["broke"] = str(e).splitlines()[0][:300]
            print(f"  {self.plan.pods} pods: stopped: {self.out['broke']}", flush=True)
        finally:
            self.finish()
        return self.out

    def start(self) -> None:
        """Start the replicas with no work queued; their idle, ready RSS is the baseline."""
        for name, share in self.plan.shares.items():
            args = ("--metrics-port", str(self.ports[name]), "--log-level", "warning")
            self.h.start_replica(name, args=args, core__parallelism=str(max(share, 1)))
        self.ids = self.h.wait_registered(timeout=180)
        self.h.wait_for(lambda: all(ready(p) for p in self.ports.values()), 180, "every replica to be ready")
        time.sleep(3)
        self.out["ids"] = self.ids
        self.out["baseline_rss_mb"] = {n: rss_mb(p.pid) for n, p in self.h.replicas.items()}
        self.out["server_baseline_rss_mb"] = rss_mb(self.cluster.pid)
        self.out["loadavg_at_start"] = Path("/proc/loadavg").read_text().split()[:3]

    def load(self) -> None:
        """Queue N tasks; wait until the server runs all N pods and the replicas have recorded them."""
        n = self.plan.pods
        defs = parse_tasks([task(i) for i in range(n)], "scale")
        probe_selector = owner_selector(PODHERD_SCHEME, self.ids["a"])
        with probing(self.cluster.conn, NAMESPACES[0], probe_selector) as probe:
            self.t0 = time.time()
            cpu0 = self.cpu()
            for lo in range(0, n, SUBMIT_CHUNK):
                queries.insert_tasks(self.h.engine, defs[lo : lo + SUBMIT_CHUNK], NAMESPACES[0])
            self.out["submit_s"] = round(time.time() - self.t0, 1)
            try:
                t_server = self.wait(
                    "load", lambda r: r["server_running"] >= n, lambda r: r["server_pods"] + r["server_running"]
                )
                self.out["server_all_running_s"] = round(t_server - self.t0, 1)
                self.out["cpu_share_load"] = self.cpu_share(cpu0, t_server - self.t0)
                t_db = self.wait("load", lambda r: r["db_attempts"].get("running", 0) >= n, lambda r: r["db_attempts"])
                self.out["db_all_running_s"] = round(t_db - self.t0, 1)
            finally:
                time.sleep(5)  # let the probe see the last events
                self.out["loaded"] = self.loaded_snapshot()
        self.out["watch_lag"] = watch_lag(self.cluster.ask("stamps"), self.ids["a"], probe)

    def loaded_snapshot(self) -> dict[str, Any]:
        row = self.sample("loaded")
        return {
            "held": row["held"],
            "rss_mb": {n: r["rss_mb"] for n, r in row["replicas"].items()},
            "peak_rss_mb": {n: peak_rss_mb(p.pid) for n, p in self.h.replicas.items() if n not in self.killed},
            "server_rss_mb": row["server_rss_mb"],
            "server_pods": row["server_pods"],
            "metrics": {n: replica_metrics(self.h, self.ports[n]) for n in row["replicas"]},
        }

    def measure(self) -> None:
        """The sweep as survivor `a` would run it right after the kill, and `a`'s re-list of one namespace."""
        from benchmarks.sweep_cost import in_fresh_process

        print(f"  {self.plan.pods} pods: sweep and re-list ...", flush=True)
        self.out["lists"] = in_fresh_process(
            measure_lists, self.cluster.conn, self.ids["a"], [self.ids["b"]], self.args.repeats
        )

    def take_over(self) -> None:
        """kill -9 the victim; wait until none of its pods is still labelled with its id."""
        counts = self.cluster.ask("counts")
        self.out["orphans"] = self.held(counts, "victim")
        print(f"  {self.plan.pods} pods: kill -9 the victim ({self.out['orphans']} pods) ...", flush=True)
        self.killed.add("victim")
        self.out["kill_t"] = self.h.kill("victim")
        self.out["kill_offset_s"] = round(self.out["kill_t"] - self.t0, 1)

        t = self.wait("takeover", lambda r: r["held"]["victim"] == 0, lambda r: r["held"]["victim"])
        self.out["victim_pods_relabelled_s"] = round(t - self.out["kill_t"], 1)
        time.sleep(5)
        after = self.loaded_snapshot()
        self.out["after_takeover"] = after

    def finish(self) -> None:
        """Stop everything fast (SIGKILL: the state is thrown away), then judge the audit log."""
        for name, p in self.h.replicas.items():
            if p.poll() is None:
                self.killed.add(name)
                self.h.kill(name, signal.SIGKILL)
        self.out["server"] = self.cluster.ask("stats") if self.cluster.proc.is_alive() else {}
        self.out["timeline"] = self.timeline
        records = self.h.audit() if self.h.audit_path.exists() else []
        self.out["audit"] = judge(records, self.ids, self.out.get("kill_t"), self.t0)
        lives = {rid: Lifetime(self.h.started_at[n], self.h.signalled_at.get(n)) for n, rid in self.ids.items()}
        report = check(records, lives)
        self.out["invariants"] = {
            "duplicate_creates": len(report.duplicate_creates),
            "writes_to_live_owners": len(report.writes_to_live_owners),
            "refused_claims": report.refused_claims,
        }

    # ---- helpers ----------------------------------------------------------------------------------------
    def cpu(self) -> dict[str, float]:
        """CPU seconds so far: the server, each replica, this process (`bench`), and the machine's jiffies."""
        pids = {"server": self.cluster.pid, **{n: p.pid for n, p in self.h.replicas.items()}}
        out = {n: cpu_seconds(pid) or 0.0 for n, pid in pids.items()}
        out["bench"] = cpu_seconds() or 0.0
        out["_busy"], out["_total"] = (float(x) for x in machine_jiffies())
        return out

    def cpu_share(self, before: dict[str, float], wall: float) -> dict[str, float]:
        """CPU seconds per wall second of each process over the load (1.0 = one core busy all along).

        `machine` is every core's busy time the same way, and `others` what is left of it after ours
        (this benchmark's processes): the 2 cores are shared, and a busy neighbour slows every number.
        """
        now = self.cpu()
        if wall <= 0:
            return {}
        out = {n: round((now[n] - before[n]) / wall, 2) for n in before if not n.startswith("_")}
        busy, total = machine_jiffies()
        cores = os.cpu_count() or 1
        out["machine"] = round((busy - before["_busy"]) / max(total - before["_total"], 1) * cores, 2)
        out["others"] = round(out["machine"] - sum(v for n, v in out.items() if n != "machine"), 2)
        return out


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as resp:
            return resp.status == 200
    except Exception:
        return False


def replica_metrics(h: Harness, port: int) -> dict[str, Any]:
    """What a replica's /metrics says about its watches, heartbeats, claims and loop times."""
    try:
        m = h.metrics(port)
    except Exception as e:
        return {"error": type(e).__name__}

    def total(name: str) -> float:
        return sum(v for k, v in m.items() if k == name or k.startswith(name + "{"))

    buckets = sorted(
        (float(k.split('le="')[1].split('"')[0]), v)
        for k, v in m.items()
        if k.startswith("podherd_loop_duration_seconds_bucket")
    )
    loops = total("podherd_loop_duration_seconds_count")
    return {
        "watch_relists": total("podherd_watch_relists_total"),
        "watch_expired": total("podherd_watch_expired_total"),
        "watch_restarts": total("podherd_watch_restarts_total"),
        "heartbeat_failures": total("podherd_heartbeat_failures_total"),
        "claims_won": m.get('podherd_claims_total{result="won"}', 0.0),
        "tasks_taken_over": total("podherd_tasks_taken_over_total"),
        "adoption_last_s": round(total("podherd_adoption_last_seconds"), 2),
        "api_requests": total("podherd_api_requests_total"),
        "loops": int(loops),
        "loop_mean_ms": round(total("podherd_loop_duration_seconds_sum") / loops * 1000, 1) if loops else None,
        "loop_p99_le_s": next((le for le, n in buckets if n >= 0.99 * loops), None),
        "loop_max_le_s": next((le for le, n in buckets if n >= loops), None),
    }


def watch_lag(stamps: dict[str, tuple[float, str]], owner: str, probe: dict[str, Any]) -> dict[str, Any]:
    """Server commit -> probe receipt of each Running event, for the probed replica's pods of one namespace."""
    seen: dict[str, float] = probe.get("seen") or {}
    mine = {name: t for name, (t, who) in stamps.items() if who == owner}
    lags = [seen[name] - t for name, t in mine.items() if name in seen]
    return {
        "pods": len(lags),
        "missed": sum(1 for name in mine if name not in seen),
        "probe_errors": probe.get("errors"),
        "p50_ms": round(percentile(lags, 50) * 1000, 1) if lags else None,
        "p99_ms": round(percentile(lags, 99) * 1000, 1) if lags else None,
        "max_ms": round(max(lags) * 1000, 1) if lags else None,
    }


def judge(records: list[dict[str, Any]], ids: dict[str, str], kill_t: float | None, t0: float) -> dict[str, Any]:
    """From the audit log: how fast pods were created (and answered), and how the victim's pods were claimed."""
    creates = [r for r in records if r["verb"] == "create" and r["resource"] == "pods" and r["code"] == 201]
    times = sorted(audit_time(r["time"]) for r in creates)
    by_replica = {
        name: sorted(audit_time(r["time"]) for r in creates if replica_of(r) == rid) for name, rid in ids.items()
    }
    victim = ids.get("victim")
    victim_pods = {(r["namespace"], r["name"]) for r in creates if replica_of(r) == victim}
    claims = [
        r for r in records
        if r["verb"] == "patch" and r["resource"] == "pods" and (r["namespace"], r["name"]) in victim_pods
        and replica_of(r) not in (None, victim) and kill_t is not None
    ]  # fmt: skip
    won = sorted((audit_time(r["time"]) - (kill_t or 0.0), replica_of(r)) for r in claims if r["code"] == 200)
    lat = [float(r.get("latencyMs") or 0.0) for r in creates]
    claim_lat = [float(r.get("latencyMs") or 0.0) for r in claims]
    shares = [share for t in by_replica.values() if (share := bucket_share(t)) is not None]
    name_of = {rid: name for name, rid in ids.items()}
    return {
        "pods_created": len(creates),
        "creates_by_replica": {name: len(t) for name, t in by_replica.items()},
        "first_create_s": round(times[0] - t0, 1) if times else None,
        "last_create_s": round(times[-1] - t0, 1) if times else None,
        "creates_per_s": rate(times),
        "creates_per_s_by_replica": {name: rate(t) for name, t in by_replica.items()},
        "creates_bucket_share_max": max(shares, default=None),
        "create_latency_p50_ms": round(percentile(lat, 50), 1) if lat else None,
        "create_latency_p99_ms": round(percentile(lat, 99), 1) if lat else None,
        "claims_won": len(won),
        "claims_refused": sum(1 for r in claims if r["code"] != 200),
        "claimed_by": dict(Counter(name_of.get(rid or "", "?") for _t, rid in won)),
        "first_claim_s": round(won[0][0], 2) if won else None,
        "last_claim_s": round(won[-1][0], 2) if won else None,
        "claims_per_s": rate([t for t, _rid in won]),
        "claims_bucket_share": bucket_share([t for t, _rid in won]),
        "claim_latency_p50_ms": round(percentile(claim_lat, 50), 1) if claim_lat else None,
        "claim_latency_p99_ms": round(percentile(claim_lat, 99), 1) if claim_lat else None,
    }


def rate(times: Sequence[float]) -> float | None:
    """Events per second between the first and the last of sorted times."""
    return round((len(times) - 1) / (times[-1] - times[0]), 1) if len(times) > 1 and times[-1] > times[0] else None


def bucket_share(times: Sequence[float]) -> float | None:
    """How much of what a replica's token bucket allowed in the span of sorted `times` they used.

    The bucket (200 QPS, burst 400: podherd's defaults) lets `BURST + QPS x span` requests through
    in `span` seconds; a share near 1 means the client-side rate limit set the pace, not the server.
    """
    if len(times) < 2:
        return None
    return round(len(times) / (BURST + QPS * (times[-1] - times[0])), 2)


# ---- per-size summary, and the limits ----------------------------------------------------------------
def pooled_mb_per_10k(
    rss: dict[str, float | None], base: dict[str, float | None], held: dict[str, int]
) -> float | None:
    """RSS growth over the idle baseline, summed over replicas, per 10k pods their watches hold."""
    names = [n for n in rss if rss.get(n) is not None and base.get(n) is not None and held.get(n)]
    pods = sum(held[n] for n in names)
    growth = sum((rss[n] or 0.0) - (base[n] or 0.0) for n in names)
    return round(growth / pods * 10_000, 1) if pods >= 100 else None


def summarise(s: dict[str, Any]) -> dict[str, Any]:
    """The numbers of one step that the tables and the limits read (everything else stays in `steps`)."""
    loaded, after = s.get("loaded") or {}, s.get("after_takeover") or {}
    base, audit, lists = s.get("baseline_rss_mb") or {}, s.get("audit") or {}, s.get("lists") or {}
    metrics = list((loaded.get("metrics") or {}).values())
    after_metrics = list((after.get("metrics") or {}).values())
    load_rows = [r for r in s.get("timeline", []) if r["stage"] == "load"]
    writes = [r["db_write_ms"] for r in load_rows]
    health = [code for r in s.get("timeline", []) if r["stage"] == "takeover" for code in r["healthz"].values()]
    peaks = [v for snap in (loaded, after) for v in (snap.get("peak_rss_mb") or {}).values() if v]
    share = s.get("cpu_share_load") or {}
    pods = s["pods"]
    server_growth = (loaded.get("server_rss_mb") or 0.0) - (s.get("server_baseline_rss_mb") or 0.0)
    t_server, t_db = s.get("server_all_running_s"), s.get("db_all_running_s")
    return {
        "pods": pods,
        "completed": s["completed"],
        "broke": s["broke"],
        "shares": s["shares"],
        "held": loaded.get("held"),
        "replica_rss_max_mb": max((v or 0.0 for v in (loaded.get("rss_mb") or {}).values()), default=None),
        "replica_peak_rss_mb": max(peaks, default=None),
        "replica_mb_per_10k": pooled_mb_per_10k(loaded.get("rss_mb") or {}, base, loaded.get("held") or {}),
        "survivor_mb_per_10k_after": pooled_mb_per_10k(after.get("rss_mb") or {}, base, after.get("held") or {}),
        "takeover_mb_per_10k": takeover_mb_per_10k(loaded, after, audit),
        "watch_cache_mb_per_10k": lists.get("watch_cache_mb_per_10k"),
        "server_rss_mb": loaded.get("server_rss_mb"),
        "server_mb_per_10k": round(server_growth / loaded["server_pods"] * 10_000, 1)
        if loaded.get("server_pods")
        else None,
        "server_all_running_s": t_server,
        "db_all_running_s": t_db,
        "db_behind_s": round(t_db - t_server, 1) if t_db is not None and t_server is not None else None,
        "creates_per_s": audit.get("creates_per_s"),
        "creates_per_s_busiest_replica": max(
            (v for v in (audit.get("creates_per_s_by_replica") or {}).values() if v is not None), default=None
        ),
        "create_latency_p99_ms": audit.get("create_latency_p99_ms"),
        "server_cpu_share": share.get("server"),
        "replicas_cpu_share": round(sum(v for n, v in share.items() if n in s["shares"]), 2) if share else None,
        "machine_cpu_cores": share.get("machine"),
        "others_cpu_cores": share.get("others"),
        "watch_lag_p99_ms": (s.get("watch_lag") or {}).get("p99_ms"),
        "watch_lag_max_ms": (s.get("watch_lag") or {}).get("max_ms"),
        "db_write_p99_ms": round(percentile(writes, 99), 1) if writes else None,
        "db_write_max_ms": max(writes, default=None),
        "heartbeat_failures": int(sum(m.get("heartbeat_failures", 0) for m in after_metrics or metrics)),
        "watch_expired": int(sum(m.get("watch_expired", 0) for m in metrics)),
        "watch_relists": int(sum(m.get("watch_relists", 0) for m in metrics)),
        "loop_p99_le_s": max((m.get("loop_p99_le_s") or 0 for m in metrics), default=None),
        "sweep_ms": lists.get("sweep_median_ms"),
        "sweep_bytes": lists.get("sweep_bytes"),
        "sweep_requests": lists.get("sweep_requests"),
        "sweep_pods": lists.get("sweep_pods_returned"),
        "relist_ms": lists.get("relist_ms"),
        "relist_pods": lists.get("relist_pods"),
        "relist_bytes": lists.get("relist_bytes"),
        "orphans": s.get("orphans"),
        "first_claim_s": audit.get("first_claim_s"),
        "last_claim_s": audit.get("last_claim_s"),
        "claiming_s": round(audit["last_claim_s"] - audit["first_claim_s"], 1) if audit.get("claims_won") else None,
        "claims_won": audit.get("claims_won"),
        "claims_per_s": audit.get("claims_per_s"),
        "creates_bucket_share_max": audit.get("creates_bucket_share_max"),
        "claims_bucket_share": audit.get("claims_bucket_share"),
        "claimed_by": audit.get("claimed_by"),
        "takeover_loop_max_le_s": max((m.get("loop_max_le_s") or 0 for m in after_metrics), default=None),
        "healthz_not_ok": sum(1 for c in health if c != 200),
        "healthz_failing_s": failing_for(s.get("timeline", [])),
        "healthz_answers": len(health),
        "invariants": s.get("invariants"),
        "step_seconds": s.get("step_seconds"),
    }


def takeover_mb_per_10k(loaded: dict[str, Any], after: dict[str, Any], audit: dict[str, Any]) -> float | None:
    """RSS growth of the survivor(s) that claimed the victim's pods, per 10k pods claimed."""
    claimed = audit.get("claimed_by") or {}
    growth = sum((after.get("rss_mb") or {}).get(n, 0.0) - (loaded.get("rss_mb") or {}).get(n, 0.0) for n in claimed)
    pods = sum(claimed.values())
    return round(growth / pods * 10_000, 1) if pods >= 100 else None


def failing_for(timeline: list[dict[str, Any]]) -> float:
    """The longest a survivor's /healthz kept failing during the takeover: first to last failing sample in a row."""
    longest = 0.0
    rows = [r for r in timeline if r["stage"] == "takeover"]
    for name in {n for r in rows for n in r["healthz"]}:
        since: float | None = None
        for r in rows:
            code = r["healthz"].get(name)
            if code is not None and code != 200:
                since = r["t"] if since is None else since
                longest = max(longest, r["t"] - since)
            else:
                since = None
    return round(longest, 1)


@dataclass(frozen=True)
class Limit:
    """A candidate limit: what shows it in a step's summary, and the threshold that says it was hit.

    `breaks`: past the threshold podherd stops doing its job as deployed (a replica is OOMKilled or
    restarted, a live replica may look dead, a step cannot finish); otherwise it only slows down.
    """

    name: str
    indicator: str
    threshold: str
    value: Callable[[dict[str, Any]], Any]
    hit: Callable[[dict[str, Any]], bool]
    breaks: bool = False


def _n(row: dict[str, Any], key: str) -> float:
    v = row.get(key)
    return float(v) if isinstance(v, int | float) else 0.0


LIMITS = (
    Limit("replica memory", "largest replica peak RSS (VmHWM), MB",
          "> 512 MiB, the memory limit of deploy/base: the replica is OOMKilled",
          lambda r: r["replica_peak_rss_mb"], lambda r: _n(r, "replica_peak_rss_mb") > 512, breaks=True),
    Limit("takeover vs liveness probe", "longest run of survivor /healthz failures during the takeover, s",
          ">= 20 s: deploy/base's probe (3 failures, 10 s apart) restarts the survivor mid-takeover",
          lambda r: r["healthz_failing_s"], lambda r: _n(r, "healthz_failing_s") >= 20, breaks=True),
    Limit("heartbeats", "heartbeats that failed (any replica)", "> 0: a live replica may look dead",
          lambda r: r["heartbeat_failures"], lambda r: _n(r, "heartbeat_failures") > 0, breaks=True),
    Limit("step finished", "every pod Running, recorded, then taken over", "no: stalled or a replica exited",
          lambda r: "yes" if r["completed"] else "no", lambda r: not r["completed"], breaks=True),
    Limit("claiming loop", "first to last claim of the takeover (one loop of one survivor), s",
          ">= 60 s: /healthz answers 503, loop stuck", lambda r: r["claiming_s"], lambda r: _n(r, "claiming_s") >= 60),
    Limit("database lock", "write-lock probe during the load, p99 ms", "> 1000 ms",
          lambda r: r["db_write_p99_ms"], lambda r: _n(r, "db_write_p99_ms") > 1000),
    Limit("replica loop", "slowest replica's loop p99 during the load (bucket bound), s", "> 1 s",
          lambda r: r["loop_p99_le_s"], lambda r: _n(r, "loop_p99_le_s") > 1),
    Limit("watch fan-out lag", "Running event, server commit to a replica-like watch, p99 ms", "> 1000 ms",
          lambda r: r["watch_lag_p99_ms"], lambda r: _n(r, "watch_lag_p99_ms") > 1000),
    Limit("200 QPS client limit", "share of the 200 QPS / 400 burst bucket used: busiest replica's creates; claims",
          ">= 0.9: the client-side rate limit sets the pace",
          lambda r: f"{_v(r['creates_bucket_share_max'])}; {_v(r['claims_bucket_share'])}",
          lambda r: max(_n(r, "creates_bucket_share_max"), _n(r, "claims_bucket_share")) >= 0.9),
    Limit("API server CPU", "the server process's CPU share during the load", ">= 0.9: its one thread is saturated",
          lambda r: r["server_cpu_share"], lambda r: _n(r, "server_cpu_share") >= 0.9),
    Limit("replicas keep up", "server all Running to database all running, s", "> 30 s behind the cluster",
          lambda r: r["db_behind_s"], lambda r: _n(r, "db_behind_s") > 30),
    Limit("watch history", "410 Expired seen by the replicas' watches (each is a full re-list)", "> 0",
          lambda r: r["watch_expired"], lambda r: _n(r, "watch_expired") > 0),
    Limit("list latency", "one completed-pod sweep (10 lists, on the replica's loop), ms", "> 1000 ms",
          lambda r: r["sweep_ms"], lambda r: _n(r, "sweep_ms") > 1000),
)  # fmt: skip


def evaluate(summary: list[dict[str, Any]]) -> dict[str, Any]:
    """Each limit's value per size and the first size that hit it; the first limits to slow and to break podherd."""
    rows = []
    for lim in LIMITS:
        hits = [r["pods"] for r in summary if lim.hit(r)]
        rows.append(
            {"name": lim.name, "indicator": lim.indicator, "threshold": lim.threshold, "breaks": lim.breaks,
             "values": {str(r["pods"]): lim.value(r) for r in summary}, "first_hit_at": hits[0] if hits else None}
        )  # fmt: skip

    def first(kind: bool) -> dict[str, Any] | None:
        hit = [r for r in rows if r["breaks"] == kind and r["first_hit_at"] is not None]
        if not hit:
            return None
        at = min(r["first_hit_at"] for r in hit)
        return {"pods": at, "limits": [r["name"] for r in hit if r["first_hit_at"] == at]}

    broke = next((r for r in summary if not r["completed"]), None)
    return {
        "limits": rows,
        "first_to_slow": first(False),
        "first_to_break": first(True),
        "step_stopped": {"pods": broke["pods"], "why": broke["broke"]} if broke else None,
    }


# ---- report ------------------------------------------------------------------------------------------
def _v(x: Any) -> str:
    return "-" if x is None else f"{x:,}" if isinstance(x, int) and not isinstance(x, bool) else str(x)


def tables(results: dict[str, Any], markdown: bool) -> list[str]:
    """The three tables (memory and load; sweep and takeover; limits) and the verdict, from `summary`/`limits`."""
    summary, ev = results["summary"], results["limits"]
    load = [
        [_v(r["pods"]), "/".join(_v((r["held"] or {}).get(n)) for n in ("a", "b", "victim")),
         _v(r["replica_rss_max_mb"]), _v(r["replica_peak_rss_mb"]), _v(r["replica_mb_per_10k"]),
         _v(r["watch_cache_mb_per_10k"]), _v(r["takeover_mb_per_10k"]), _v(r["server_rss_mb"]), _v(r["server_mb_per_10k"]),
         _v(r["server_all_running_s"]), _v(r["db_all_running_s"]), _v(r["creates_per_s"]), _v(r["server_cpu_share"]),
         _v(r["watch_lag_p99_ms"]), _v(r["db_write_p99_ms"])]
        for r in summary
    ]  # fmt: skip
    load_heads = [
        "pods", "held a/b/victim", "replica RSS MB", "peak RSS MB", "replica MB /10k pods", "watch cache MB /10k",
        "survivor MB /10k taken over",
        "API server RSS MB", "server MB /10k", "all Running s", "DB caught up s", "creates/s", "server CPU",
        "watch lag p99 ms", "DB write p99 ms",
    ]  # fmt: skip
    takeover = [
        [_v(r["pods"]), _v(r["sweep_ms"]), _v(r["sweep_bytes"]), _v(r["sweep_requests"]), _v(r["sweep_pods"]),
         f"{_v(r['relist_ms'])} ({_v(r['relist_pods'])} pods, {_v(r['relist_bytes'])} B)", _v(r["orphans"]),
         _v(r["first_claim_s"]), _v(r["last_claim_s"]), _v(r["claims_per_s"]),
         f"{r['healthz_not_ok']}/{r['healthz_answers']}", _v((r["invariants"] or {}).get("writes_to_live_owners"))]
        for r in summary
    ]  # fmt: skip
    takeover_heads = [
        "pods", "sweep ms", "sweep bytes", "sweep requests", "pods returned", "re-list of 1 namespace ms",
        "orphans", "kill to first claim s", "kill to last claim s", "claims/s", "/healthz not 200",
        "writes to live owners",
    ]  # fmt: skip
    limit_rows = [
        [lim["name"], lim["indicator"], lim["threshold"], *(_v(lim["values"].get(str(r["pods"]))) for r in summary),
         _v(lim["first_hit_at"])]
        for lim in ev["limits"]
    ]  # fmt: skip
    limit_heads = ["limit", "indicator", "hit when", *(f"{r['pods']:,}" for r in summary), "first hit at"]
    out = [fmt_table(load_heads, load, markdown), "", fmt_table(takeover_heads, takeover, markdown), ""]
    out += [fmt_table(limit_heads, limit_rows, markdown), "", verdict(ev), ""]
    return out


def verdict(ev: dict[str, Any]) -> str:
    """One sentence per kind: the first limits to slow podherd down and to break it, and at what size."""
    parts = []
    for key, what in (("first_to_slow", "slow podherd down"), ("first_to_break", "break it as deployed")):
        hit = ev[key]
        if hit:
            parts.append(f"First to {what}: {' and '.join(hit['limits'])}, at {hit['pods']:,} pods.")
        else:
            parts.append(f"No limit that would {what} was hit at these sizes.")
    if ev["step_stopped"]:
        parts.append(f"The {ev['step_stopped']['pods']:,}-pod step did not finish: {ev['step_stopped']['why']}")
    return " ".join(parts)


def render(results: dict[str, Any], markdown: bool) -> str:
    setup = (
        f"{len(results['namespaces'])} namespaces, 3 replicas ({results['db']}), pods Running for a simulated day; "
        f"the victim holds min({results['orphans']:,}, N/3) pods and is killed -9 once all are Running. "
        f"Liveness: heartbeat {results['heartbeat']} s, dead after {results['threshold']} s. "
        f"Whole run: {results['wall_seconds']:.0f} s."
    )
    return "\n".join([*header(results, "podherd at scale", markdown), setup, "", *tables(results, markdown)])


def plot(results: dict[str, Any], path: Path) -> Path | None:
    plt = pyplot()
    if plt is None:
        return None
    steps, summary = results["steps"], results["summary"]
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    ax = axes[0][0]
    for s in steps:
        base, color = s.get("baseline_rss_mb") or {}, None
        for snap, marker, when in ((s.get("loaded"), "o", "loaded"), (s.get("after_takeover"), "x", "after takeover")):
            pts = [
                (snap["held"][n], v - base[n]) for n, v in (snap or {}).get("rss_mb", {}).items() if v and base.get(n)
            ]
            dots = ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=marker, color=color,
                              label=f"{s['pods']:,} pods, {when}")  # fmt: skip
            color = dots.get_facecolor()[0] if marker == "o" and pts else color
    cache = max((r["watch_cache_mb_per_10k"] or 0.0 for r in summary), default=0.0)
    held_max = max(
        (
            h
            for s in steps
            for snap in ("loaded", "after_takeover")
            for h in ((s.get(snap) or {}).get("held") or {}).values()
        ),
        default=0,
    )
    if cache and held_max:
        ax.plot([0, held_max], [0, cache * held_max / 10_000], ls="--", color="grey", label="watch cache alone")
    ax.set_xlabel("pods the replica's watches hold")
    ax.set_ylabel("replica RSS growth, MB")
    ax.set_title("replica memory")
    ax.legend(fontsize="small")
    ax = axes[0][1]
    sizes = [r["pods"] for r in summary]
    for key, label in (("server_all_running_s", "all pods Running (server)"), ("db_all_running_s", "all recorded running (DB)"),
                       ("last_claim_s", "kill -9 to last claim"), ("first_claim_s", "kill -9 to first claim")):  # fmt: skip
        ax.plot(sizes, [r[key] for r in summary], marker="o", label=label)
    ax.set_xlabel("pods")
    ax.set_ylabel("seconds")
    ax.set_title("load and takeover")
    ax.legend()
    ax = axes[1][0]
    ax.plot(sizes, [r["server_rss_mb"] for r in summary], marker="o", label="API server RSS, MB")
    ax.plot(sizes, [r["sweep_ms"] for r in summary], marker="o", label="one sweep, ms")
    ax.plot(sizes, [r["relist_ms"] for r in summary], marker="o", label="one namespace re-list, ms")
    ax.set_xlabel("pods")
    ax.set_title("server memory, list latency")
    ax.legend()
    ax = axes[1][1]
    last = steps[-1]
    rows = last.get("timeline") or []
    t = [r["t"] for r in rows]
    ax.plot(t, [r["server_running"] for r in rows], label="pods Running (server)")
    ax.plot(t, [r["db_attempts"].get("running", 0) for r in rows], label="attempts running (DB)")
    ax.plot(t, [r["held"].get("victim", 0) for r in rows], label="pods labelled with the victim's id")
    if last.get("kill_offset_s") is not None:
        ax.axvline(last["kill_offset_s"], color="red", ls="--", label="kill -9")
    ax.set_xlabel("seconds since the tasks were queued")
    ax.set_title(f"the {last['pods']:,}-pod step")
    ax.legend()
    return save_figure(plt, fig, "podherd at scale: 3 replicas, 5 namespaces, long-running simulated pods", path)


# ---- run ---------------------------------------------------------------------------------------------
@contextmanager
def databases(kind: str) -> Iterator[Callable[[Path], Any]]:
    """Yields `fresh(workdir)`: a context giving a new database URL per step (an SQLite file, or a PostgreSQL schema)."""
    if kind == "sqlite":
        yield lambda workdir: nullcontext(f"sqlite:///{workdir}/scale.db")
        return
    from benchmarks.race import databases as race_databases  # one throwaway PostgreSQL server for all steps

    with race_databases(kind) as fresh:
        yield fresh


def run_step(plan: Plan, args: argparse.Namespace, workdir: Path, db_url: str) -> dict[str, Any]:
    """One size from scratch; everything it started is stopped before it returns."""
    cluster = ClusterProcess(workdir)
    h = Harness(workdir, db_url)
    h.env = {
        **DEFAULTS,
        "PODHERD__KUBERNETES_EXECUTOR__NAMESPACE": NAMESPACES[0],
        "PODHERD__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": str(args.heartbeat),
        "PODHERD__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": str(args.threshold),
    }
    try:
        return Step(plan, args, h, cluster).run()
    finally:
        h.stop()
        cluster.stop()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", help=f"pods per step, comma-separated (default {FULL_SIZES}; --quick {QUICK_SIZES})")
    ap.add_argument(
        "--orphans", type=int, default=10_000, help="pods the killed replica holds, at most N/3 (default 10000)"
    )
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite", help="database (default sqlite)")
    ap.add_argument("--heartbeat", type=float, default=5.0, help="scheduler_heartbeat_sec (default 5, podherd's)")
    ap.add_argument("--threshold", type=float, default=30.0, help="scheduler_health_check_threshold (default 30)")
    ap.add_argument("--repeats", type=int, default=3, help="timed sweeps per step after a warm-up (default 3)")
    ap.add_argument("--stall", type=float, default=180.0, help="end a step after this many seconds without progress")
    ap.add_argument(
        "--quick", action="store_true", help="small sizes, a few minutes; to a temporary directory unless --out"
    )
    ap.add_argument("--out", type=Path, help=f"output directory (default {RESULTS.relative_to(RESULTS.parents[1])})")
    args = ap.parse_args(argv)
    try:
        args.size_list = [int(x) for x in (args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)).split(",")]
    except ValueError:
        ap.error("--sizes: expected comma-separated integers")
    if not all(n >= 30 for n in args.size_list) or args.orphans < 1 or args.repeats < 1:
        ap.error("need every size >= 30, --orphans >= 1 and --repeats >= 1")
    if not 0 < args.heartbeat < args.threshold:
        ap.error("need 0 < --heartbeat < --threshold")
    args.out = output_dir(args.out, args.quick, "scale", RESULTS)
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Step through the sizes (stopping after a step that could not finish); print, write JSON + Markdown + PNG."""
    from benchmarks.cluster_bench import machine_info

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    started, machine = time.time(), machine_info()  # the commit and dirty flag of the code that runs, not of the end
    steps: list[dict[str, Any]] = []
    with databases(args.db) as fresh:
        for n in args.size_list:
            plan = Plan.of(n, args.orphans)
            print(f"{n:,} pods: replicas hold {plan.shares} ...", flush=True)
            t = time.time()
            with tempfile.TemporaryDirectory(prefix=f"podherd-scale-{n}-") as tmp, fresh(tmp) as url:
                step = run_step(plan, args, Path(tmp), url)
            step["step_seconds"] = round(time.time() - t, 1)
            steps.append(step)
            if not step["completed"]:
                break
    summary = [summarise(s) for s in steps]
    results = results_doc(
        "scale", argv, args.quick, db=args.db, namespaces=list(NAMESPACES), orphans=args.orphans,
        heartbeat=args.heartbeat, threshold=args.threshold, task_seconds=TASK_SECONDS,
        wall_seconds=round(time.time() - started, 1), summary=summary, limits=evaluate(summary), steps=steps,
    )  # fmt: skip
    results["machine"] = {**machine, "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    publish(results, "scale", args.out, render, plot)
    return results


if __name__ == "__main__":
    main()
