"""Multi-process HA harness: a `podherd cluster up` process, N `podherd scheduler` processes, one DB.

Everything is real: separate OS processes, HTTPS to the local cluster, SQLite or
PostgreSQL. API traffic is judged from the cluster's audit log, where every
request carries the replica's User-Agent `podherd/<v> (replica <id>)`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config
from sqlalchemy import Engine

from podherd.db import open_database, queries
from podherd.taskfile import parse_tasks

PODHERD = [sys.executable, "-m", "podherd.cli"]
UA_REPLICA = re.compile(r"\(replica (\d+)\)")

# Fast liveness for tests: dead after 3 s without a heartbeat, heartbeats every 0.5 s.
THRESHOLD = 3.0
HEARTBEAT = 0.5


def base_env(namespace: str = "default") -> dict[str, str]:
    return {
        "PODHERD__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": str(HEARTBEAT),
        "PODHERD__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": str(THRESHOLD),
        "PODHERD__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "2",
        "PODHERD__SCHEDULER__LOOP_IDLE_SLEEP": "0.05",
        "PODHERD__KUBERNETES_EXECUTOR__NAMESPACE": namespace,
        "PODHERD__KUBERNETES_EXECUTOR__TASK_PUBLISH_MAX_RETRIES": "10",
    }


@dataclass
class Harness:
    tmp: Path
    db_url: str
    mode: str = "simulate"
    cluster_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cluster: subprocess.Popen[str] | None = None
    replicas: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
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
    def start_cluster(self) -> None:
        log = open(self.tmp / "cluster.log", "w")  # noqa: SIM115 (closed with the process)
        self.cluster = subprocess.Popen(
            [
                *PODHERD,
                "cluster",
                "up",
                "--port",
                "0",
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

    def start_replica(self, name: str, **settings: str) -> subprocess.Popen[str]:
        env = {**os.environ, **base_env(), **self.env}
        env.update({f"PODHERD__{k.upper()}": v for k, v in settings.items()})
        log = open(self.tmp / f"{name}.log", "a")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [*PODHERD, "scheduler", "--db", self.db_url, "--kubeconfig", str(self.kubeconfig)],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self.tmp,
            env=env,
        )
        self.replicas[name] = proc
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> float:
        """Signal a replica; returns the time (time.time()) it was sent."""
        proc = self.replicas[name]
        t = time.time()
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
    def submit(self, tasks: list[dict[str, Any]]) -> list[int]:
        return queries.insert_tasks(self.engine, parse_tasks(tasks, "ha-test"), "default")

    def wait_for(self, pred: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self.logs()}")
            time.sleep(0.2)

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

    # ---- audit --------------------------------------------------------------------------------
    def audit(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit_path.read_text().splitlines() if line.strip()]

    @staticmethod
    def replica_of(rec: dict[str, Any]) -> str | None:
        m = UA_REPLICA.search(rec.get("userAgent", ""))
        return m.group(1) if m else None

    def creators(self) -> dict[tuple[str, str], str]:
        """(namespace, pod name) -> replica id that created it."""
        out: dict[tuple[str, str], str] = {}
        for rec in self.audit():
            if rec["verb"] == "create" and rec["resource"] == "pods" and rec["code"] == 201:
                rid = self.replica_of(rec)
                if rid:
                    out[(rec["namespace"], rec["name"])] = rid
        return out

    def pod_patches(self) -> list[dict[str, Any]]:
        return [r for r in self.audit() if r["verb"] == "patch" and r["resource"] == "pods"]

    def cross_replica_patches(self, exclude_creators: set[str] | None = None) -> list[dict[str, Any]]:
        """PATCH requests (any outcome) by one replica on a pod another replica created."""
        creators = self.creators()
        out = []
        for rec in self.pod_patches():
            creator = creators.get((rec["namespace"], rec["name"]))
            patcher = self.replica_of(rec)
            if creator and patcher and creator != patcher and creator not in (exclude_creators or set()):
                out.append(rec)
        return out

    def successful_patches_by_pod(self) -> Counter[str]:
        return Counter(r["name"] for r in self.pod_patches() if r["code"] == 200)


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
