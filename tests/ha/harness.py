"""The HA tests' multi-process harness: a local cluster, N `podherd scheduler` processes, one DB.

Shared by the HA tests (`tests/ha`) and the benchmarks (`thrash.py`, `throughput.py`), so that
what the tests assert and what the benchmarks measure run on exactly the same machinery.
Everything is real: separate OS processes for the replicas (so `kill -9` is real), HTTPS to
the local cluster, SQLite or PostgreSQL. API traffic is judged from the cluster's audit log,
where every request carries the replica's User-Agent `podherd/<v> (replica <id>)`.

The cluster is either a `podherd cluster up` process (`start_cluster`) or a `LocalCluster`
running in the caller's process (`attach`), which lets a benchmark hook the store directly.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubernetes import client, config
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from podherd.standalone.db import open_database, queries
from podherd.standalone.taskfile import parse_tasks
from tests.ha.invariants import Lifetime, Report, check, replica_of

if TYPE_CHECKING:
    from podherd.localcluster.apiserver.server import LocalCluster

PODHERD = [sys.executable, "-m", "podherd.cli"]

# Fast liveness for tests: dead after 3 s without a heartbeat, heartbeats every 0.5 s.
THRESHOLD = 3.0
HEARTBEAT = 0.5

Record = dict[str, Any]


def base_env(namespace: str = "default") -> dict[str, str]:
    return {
        "PODHERD__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": str(HEARTBEAT),
        "PODHERD__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": str(THRESHOLD),
        "PODHERD__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "2",
        "PODHERD__SCHEDULER__LOOP_IDLE_SLEEP": "0.05",
        "PODHERD__KUBERNETES_EXECUTOR__NAMESPACE": namespace,
        "PODHERD__KUBERNETES_EXECUTOR__TASK_PUBLISH_MAX_RETRIES": "10",
    }


def free_port() -> int:
    """A TCP port free right now on 127.0.0.1 (for a replica's --metrics-port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """Peak resident set size (VmHWM) of a live process, from /proc (Linux); None if unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def cpu_seconds(pid: int | str = "self") -> float | None:
    """User + system CPU time of a live process so far, from /proc (Linux); None if unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)


@dataclass
class Harness:
    tmp: Path
    db_url: str
    mode: str = "simulate"
    cluster_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cluster: subprocess.Popen[str] | None = None
    replicas: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    local: LocalCluster | None = None  # an attached in-process cluster (instead of `cluster`)
    started_at: dict[str, float] = field(default_factory=dict)  # replica name -> time.time() at start
    signalled_at: dict[str, float] = field(default_factory=dict)  # replica name -> time it was signalled
    effects_path: Path | None = None  # where the tasks' side effects go (see `effect_task`)
    _engine: Engine | None = None
    _core: client.CoreV1Api | None = None

    @property
    def kubeconfig(self) -> Path:
        return self.tmp / "kubeconfig"

    @property
    def audit_path(self) -> Path:
        return self.tmp / "audit.jsonl"

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_database(self.db_url)
        return self._engine

    @property
    def core(self) -> client.CoreV1Api:
        if self._core is None:
            self._core = client.CoreV1Api(config.new_client_from_config(config_file=str(self.kubeconfig)))
        return self._core

    # ---- processes ----------------------------------------------------------------------------
    def start_cluster(self, port: int = 0) -> None:
        """Start `podherd cluster up` (a fresh CA and token each time; the audit log is appended to)."""
        log = open(self.tmp / "cluster.log", "a")  # noqa: SIM115 (closed with the process)
        self.cluster = subprocess.Popen(
            [
                *PODHERD,
                "cluster",
                "up",
                "--port",
                str(port),
                "--kubeconfig",
                str(self.kubeconfig),
                "--audit-log",
                str(self.audit_path),
                "--mode",
                self.mode,
                "--bookmark-interval",
                "1",
                *self.cluster_args,
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=self.tmp,
        )
        assert self.cluster.stdout is not None
        line = self.cluster.stdout.readline()
        assert "ready at" in line, (self.tmp / "cluster.log").read_text()

    def stop_cluster(self) -> None:
        assert self.cluster is not None
        self.cluster.terminate()
        self.cluster.wait(timeout=30)
        self._core = None  # the next cluster has a new CA and token

    def set_faults(self, faults: dict[str, Any]) -> None:
        """Change the running cluster's faults (`PUT /admin/faults`, with its token and CA)."""
        import base64

        import urllib3
        import yaml

        doc = yaml.safe_load(self.kubeconfig.read_text())
        cluster = doc["clusters"][0]["cluster"]
        ca = self.tmp / "cluster-ca.crt"
        ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
        resp = urllib3.PoolManager(ca_certs=str(ca)).request(
            "PUT",
            f"{cluster['server']}/admin/faults",
            body=json.dumps(faults).encode(),
            headers={"Authorization": f"Bearer {doc['users'][0]['user']['token']}", "Content-Type": "application/json"},
        )
        assert resp.status == 200, resp.data

    def metrics(self, port: int) -> dict[str, float]:
        """A replica's Prometheus samples (`--metrics-port`), by name with labels."""
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            text = resp.read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def attach(self, cluster: LocalCluster) -> None:
        """Use a started in-process cluster: replicas get a kubeconfig pointing at it."""
        self.local = cluster
        cluster.write_kubeconfig(self.kubeconfig)

    def start_replica(
        self, name: str, args: Sequence[str] = (), kubeconfig: Path | None = None, **settings: str
    ) -> subprocess.Popen[str]:
        """Start `podherd scheduler` (extra CLI `args`); `settings` become PODHERD__<KEY> variables."""
        env = {**os.environ, **base_env(), **self.env}
        env.update({f"PODHERD__{k.upper()}": v for k, v in settings.items()})
        log = open(self.tmp / f"{name}.log", "a")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [*PODHERD, "scheduler", "--db", self.db_url, "--kubeconfig", str(kubeconfig or self.kubeconfig), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self.tmp,
            env=env,
        )
        self.replicas[name] = proc
        self.started_at[name] = time.time()
        self.signalled_at.pop(name, None)
        return proc

    def job_id(self, name: str) -> str | None:
        """The job id (= replica id) replica `name` registered, found by its pid; None until it has."""
        pid = self.replicas[name].pid
        return next((str(j.id) for j in queries.list_jobs(self.engine) if j.pid == pid), None)

    def wait_registered(self, timeout: float = 60) -> dict[str, str]:
        """Wait until every started replica has its job row; returns name -> replica id."""
        self.wait_for(lambda: all(self.job_id(n) for n in self.replicas), timeout, "every replica to register")
        return {n: str(self.job_id(n)) for n in self.replicas}

    def kill(self, name: str, sig: int = signal.SIGKILL) -> float:
        """Signal a replica; returns the time (time.time()) it was sent."""
        proc = self.replicas[name]
        t = time.time()
        self.signalled_at[name] = t
        proc.send_signal(sig)
        proc.wait(timeout=60)
        return t

    def stop(self) -> None:
        for proc in self.replicas.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.replicas.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.cluster is not None and self.cluster.poll() is None:
            self.cluster.terminate()
            try:
                self.cluster.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.cluster.kill()
        if self._engine is not None:
            self._engine.dispose()

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.tmp.glob("*.log")))

    # ---- work ---------------------------------------------------------------------------------
    def submit(self, tasks: list[dict[str, Any]], namespace: str = "default") -> list[int]:
        return queries.insert_tasks(self.engine, parse_tasks(tasks, "ha-test"), namespace)

    def wait_for(self, pred: Any, timeout: float, what: str) -> None:
        """Poll `pred` until true. The test's own reads may meet a database that is still
        starting (after an outage scenario restarts it): that counts as "not yet"."""
        deadline = time.monotonic() + timeout
        while not self._holds(pred):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self.logs()}")
            time.sleep(0.2)

    @staticmethod
    def _holds(pred: Any) -> bool:
        try:
            return bool(pred())
        except OperationalError:
            return False

    def counts(self) -> dict[str, int]:
        return queries.count_tasks_by_state(self.engine)

    def wait_all_terminal(self, timeout: float = 120) -> dict[str, int]:
        def done() -> bool:
            c = self.counts()
            return c["queued"] + c["running"] == 0

        self.wait_for(done, timeout, "every task to finish")
        return self.counts()

    def pods(self, namespace: str = "default") -> list[Any]:
        return self.core.list_namespaced_pod(namespace).items

    def wait_no_pods(self, timeout: float = 60, namespace: str = "default") -> None:
        self.wait_for(lambda: not self.pods(namespace), timeout, "all pods to be removed")

    # ---- audit (pass `records` to judge one parsed copy of a large log several ways) ----------
    def audit(self) -> list[Record]:
        return [json.loads(line) for line in self.audit_path.read_text().splitlines() if line.strip()]

    replica_of = staticmethod(replica_of)

    def lifetimes(self) -> dict[str, Lifetime]:
        """Replica id -> when it was alive (start, signal); ids found by pid in the job table."""
        by_pid = {j.pid: str(j.id) for j in queries.list_jobs(self.engine)}
        out: dict[str, Lifetime] = {}
        for name, proc in self.replicas.items():
            rid = by_pid.get(proc.pid)
            if rid is not None:
                out[rid] = Lifetime(self.started_at[name], self.signalled_at.get(name))
        return out

    def check_invariants(self, expected_effects: Sequence[str] | None = None) -> Report:
        """The HA invariants over this run (tests/ha/invariants.py); effects only when `expected_effects`."""
        effects = None
        if expected_effects is not None:
            assert self.effects_path is not None, "effect tasks write to effects_path"
            effects = self.effects_path.read_text().splitlines() if self.effects_path.exists() else []
        return check(self.audit(), self.lifetimes(), effects, expected_effects)

    def assert_invariants(self, expected_effects: Sequence[str] | None = None) -> Report:
        report = self.check_invariants(expected_effects)
        assert report.ok, report.summary()
        return report

    def creators(self, records: list[Record] | None = None) -> dict[tuple[str, str], str]:
        """(namespace, pod name) -> replica id that created it."""
        out: dict[tuple[str, str], str] = {}
        for rec in self.audit() if records is None else records:
            if rec["verb"] == "create" and rec["resource"] == "pods" and rec["code"] == 201:
                rid = self.replica_of(rec)
                if rid:
                    out[(rec["namespace"], rec["name"])] = rid
        return out

    def pod_patches(self, records: list[Record] | None = None) -> list[Record]:
        return [
            r
            for r in (self.audit() if records is None else records)
            if r["verb"] == "patch" and r["resource"] == "pods"
        ]

    def cross_replica_patches(self, exclude_creators: set[str] | None = None) -> list[Record]:
        """PATCH requests (any outcome) by one replica on a pod another replica created."""
        records = self.audit()
        creators = self.creators(records)
        out = []
        for rec in self.pod_patches(records):
            creator = creators.get((rec["namespace"], rec["name"]))
            patcher = self.replica_of(rec)
            if creator and patcher and creator != patcher and creator not in (exclude_creators or set()):
                out.append(rec)
        return out

    def successful_patches_by_pod(self) -> Counter[str]:
        return Counter(r["name"] for r in self.pod_patches() if r["code"] == 200)


def effect_task(
    name: str, effects: Path, seconds: float = 1.0, exit_code: int = 0, gate: Path | None = None
) -> dict[str, Any]:
    """A task for the process kubelet that appends its name to `effects` (its side effect), then exits.

    With `gate`, it waits until that file exists first: a scenario can hold every pod running
    until it has set up what it wants to observe (e.g. killed their owner). `/bin/sh` is the
    task's own program here (an argv list), as any user's image would have one.
    """
    wait = 'while [ ! -e "$2" ]; do sleep 0.5; done; ' if gate is not None else ""
    script = f'{wait}sleep {seconds}; echo "$0" >> "$1"; exit {int(exit_code)}'
    argv = ["/bin/sh", "-c", script, name, str(effects), str(gate or "")]
    return {"name": name, "image": "busybox:1.36", "command": argv}


def sim_task(name: str, seconds: float = 1.0, exit_code: int = 0) -> dict[str, Any]:
    """A task for the simulate kubelet: no process, a timed run."""
    return {
        "name": name,
        "image": "busybox:1.36",
        "command": ["true"],
        "annotations": {
            "podherd.io/simulate-duration": str(seconds),
            "podherd.io/simulate-exit-code": str(exit_code),
        },
    }


class CpuStress:
    """A busy-loop process per core (context manager): the HA scenarios must hold on a loaded machine."""

    def __init__(self, processes: int | None = None) -> None:
        self.n = processes or os.cpu_count() or 2
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> CpuStress:
        for _ in range(self.n):
            self.procs.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()
        self.procs.clear()
