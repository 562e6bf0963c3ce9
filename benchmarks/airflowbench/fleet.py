"""One executor's Airflow deployment: PostgreSQL, the embedded cluster, and three named schedulers.

Built on the Airflow test harness (tests/airflow/harness.py): the same venvs, airflow.cfg, pod
template and process handling the tests use. What the benchmark adds:

- **the job-table lock** of the database-trouble scenario (the databases themselves: postgres.py);
- **incarnations**: every scheduler process started, with when it started and ended (kill, crash,
  stop: the exact exit instant, from a thread waiting on it) and the job id it registered, so every
  API request and every pod is attributed to a job id, and "alive" means "its process was running
  and Airflow's loop had not exited" (after the loop exits with `executor.end()` done, a failed
  scheduler spends seconds more shutting down, its executor gone);
- **CPU**: user + system seconds of each scheduler's whole process group (the provider's Manager and
  watcher processes included), from /proc;
- **per-process settings**: the race's victim runs with a higher `[core] parallelism`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.airflow.harness import (
    KUBERNETES_EXECUTOR,
    PODHERD_EXECUTOR,
    AirflowDeployment,
    AirflowEnv,
    agent_of,
    ensure_airflow_env,
)
from tests.ha.harness import Harness
from tests.ha.invariants import Lifetime

SCHEDULERS = ("s1", "s2", "s3")
CLK_TCK = os.sysconf("SC_CLK_TCK")
LOOP_EXITED = "Exited execute loop"  # SchedulerJobRunner._execute, after every executor's end()
LOOP_FAILED = "Exception when executing SchedulerJob._run_scheduler_loop"  # the loop raised: shutting down


@dataclass(frozen=True)
class ExecutorSpec:
    key: str
    venv: str  # scripts/airflow-env.sh environment
    executor: str  # [core] executor
    provider: str  # the cncf-kubernetes provider version the venv must hold
    label: str


EXECUTORS: dict[str, ExecutorSpec] = {
    spec.key: spec
    for spec in (
        ExecutorSpec(
            "provider-10.25", "current", KUBERNETES_EXECUTOR, "10.25.0", "KubernetesExecutor (provider 10.25.0)"
        ),
        ExecutorSpec(
            "provider-10.17", "thrash", KUBERNETES_EXECUTOR, "10.17.0", "KubernetesExecutor (provider 10.17.0)"
        ),
        ExecutorSpec("podherd", "current", PODHERD_EXECUTOR, "10.25.0", "podherd.airflow.PodherdExecutor"),
    )
}


@dataclass(frozen=True)
class Timing:
    heartbeat: float  # [scheduler] scheduler_heartbeat_sec
    threshold: float  # [scheduler] scheduler_health_check_threshold
    interval: float  # [scheduler] orphaned_tasks_check_interval (the provider's sweep period)
    outage: float  # seconds the job table refuses queries
    parallelism: int  # [core] parallelism of each scheduler

    def airflow_cfg(self) -> dict[str, dict[str, str]]:
        """The options every executor runs with (the same for all three)."""
        return {
            "core": {"parallelism": str(self.parallelism), "max_active_tasks_per_dag": "1024"},
            "scheduler": {
                "scheduler_heartbeat_sec": f"{self.heartbeat:g}",
                "scheduler_health_check_threshold": f"{self.threshold:g}",
                "orphaned_tasks_check_interval": f"{self.interval:g}",
                "task_queued_timeout": "3600",
            },
            "kubernetes_executor": {"worker_pods_creation_batch_size": "16"},
            "workers": {"execution_api_timeout": "60"},  # task runners on 2 busy cores: 5 s is too short
            "execution_api": {"jwt_expiration_time": "3600"},  # the race's pods wait at a gate first
        }


def log_times(text: str, needle: str) -> list[float]:
    """Timestamps (Unix) of the log lines containing `needle` (Airflow's lines start with an ISO time)."""
    from tests.ha.invariants import audit_time

    out = []
    for line in text.splitlines():
        if needle in line and line[:4].isdigit():
            try:
                out.append(audit_time(line.split(" ", 1)[0]))
            except ValueError:
                continue
    return out


# ---- process CPU ----------------------------------------------------------------------------------
def group_cpu_seconds(session: int) -> float:
    """User + system CPU of every live process in session `session` (and of the children they reaped)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session:  # field 6 of stat: the session id
            total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return total / CLK_TCK


# ---- the deployment -------------------------------------------------------------------------------
class BenchDeployment(AirflowDeployment):
    """The harness's deployment, plus per-process environment overrides."""

    extra_env: dict[str, dict[str, str]]

    def process_env(self, name: str | None = None) -> dict[str, str]:
        env = super().process_env(name)
        env.update(getattr(self, "extra_env", {}).get(name or "", {}))
        return env


@dataclass
class Incarnation:
    name: str
    pid: int
    start: float
    end: float | None = None
    job: int | None = None

    def alive_at(self, t: float) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


@dataclass
class Fleet:
    spec: ExecutorSpec
    af: BenchDeployment
    cluster: Harness
    db_dsn: str
    incarnations: list[Incarnation] = field(default_factory=list)
    supervising: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ---- schedulers ---------------------------------------------------------------------------
    def start_scheduler(self, name: str, **env: str) -> Incarnation:
        self.af.extra_env = {**getattr(self.af, "extra_env", {}), name: dict(env)}
        proc = self.af.start_scheduler(name)
        self.af.forget(name)  # it may die (kill, crash): waits must not fail on it
        inc = Incarnation(name, proc.pid, time.time())
        with self._lock:
            self.incarnations.append(inc)
        threading.Thread(target=self._reap, args=(inc, proc), daemon=True).start()
        return inc

    def _reap(self, inc: Incarnation, proc: subprocess.Popen[bytes]) -> None:
        proc.wait()
        ended = time.time()
        with self._lock:
            if inc.end is None:
                inc.end = ended
        if self.supervising:  # a crash: the supervisor starts it again, as Kubernetes restarts a container
            time.sleep(1.0)
            if self.supervising:
                self.start_scheduler(inc.name, **self.af.extra_env.get(inc.name, {}))

    def current(self, name: str) -> Incarnation:
        return next(i for i in reversed(self.incarnations) if i.name == name)

    def kill(self, name: str) -> float:
        """kill -9 of the scheduler's whole process group; returns when it was sent."""
        inc = self.current(name)
        t = time.time()
        with self._lock:
            inc.end = t
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(inc.pid, signal.SIGKILL)
        self.af.procs[name].wait(timeout=60)
        return t

    def running(self) -> list[str]:
        return [i.name for i in self.incarnations if i.end is None]

    def healthy(self, names: Sequence[str]) -> bool:
        """Each named scheduler's current process runs, registered a job that Airflow sees alive, and its
        loop has not failed (a failed loop keeps the process up for a while: the provider's `end()`
        waits 20 s for its watcher)."""
        alive = self.af.scheduler_job_ids(alive=True)
        self.resolve_jobs()
        for name in names:
            inc = self.current(name)
            if inc.end is not None or inc.job is None or alive.get(name) != inc.job or self.loop_failed(name):
                return False
        return True

    def loop_failed(self, name: str) -> bool:
        """The scheduler's current incarnation logged that its loop failed or exited."""
        inc, log = self.current(name), self.af.process_log(name)
        return any(t >= inc.start for needle in (LOOP_FAILED, LOOP_EXITED) for t in log_times(log, needle))

    @contextlib.contextmanager
    def supervised(self) -> Iterator[None]:
        """Restart every scheduler that exits meanwhile (a crash), one second after it exits."""
        self.supervising = True
        try:
            yield
        finally:
            self.supervising = False

    def restarts(self, since: float) -> dict[str, int]:
        return {n: sum(1 for i in self.incarnations if i.name == n and i.start > since) for n in SCHEDULERS}

    def cpu(self, names: Sequence[str]) -> dict[str, float]:
        """CPU seconds so far of each named scheduler's current incarnation (its whole process group)."""
        return {n: group_cpu_seconds(self.current(n).pid) for n in names}

    def boot(self, dag_ids: Sequence[str], timeout: float = 300) -> float:
        """Start the API server, the DAG processor and s1-s3; wait until DAGs are parsed and all are alive."""
        t0 = time.monotonic()
        self.af.start_process("api-server", "api-server")
        self.af.start_process("dag-processor", "dag-processor")
        for name in SCHEDULERS:
            self.start_scheduler(name)
        self.wait(self.af.api_ready, timeout, "the API server")
        for dag_id in dag_ids:
            self.wait(lambda d=dag_id: self.af.dag_parsed(d), timeout, f"DAG {dag_id} to be parsed")
        self.wait(lambda: set(SCHEDULERS) <= set(self.af.scheduler_job_ids(alive=True)), timeout, "the schedulers")
        return time.monotonic() - t0

    # ---- identity -----------------------------------------------------------------------------
    def resolve_jobs(self) -> None:
        """Give each incarnation the job id it registered (`job.hostname` is the process name)."""
        rows = self.sql("SELECT id, hostname, start_date FROM job WHERE job_type = 'SchedulerJob' ORDER BY id", ())
        for job_id, hostname, start_date in rows:
            t = start_date.timestamp()  # the row is written seconds after the process starts, before it ends
            for inc in self.incarnations:
                if inc.name == hostname and inc.job is None and inc.start <= t and (inc.end is None or t <= inc.end):
                    inc.job = int(job_id)

    def job_of(self, name: str, timeout: float = 120) -> int:
        """The job id of the scheduler's current incarnation, once registered."""
        deadline = time.monotonic() + timeout
        while True:
            self.resolve_jobs()
            job = self.current(name).job
            if job is not None:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} registered no job in {timeout}s\n{self.af.logs()}")
            time.sleep(0.5)

    def lifetimes(self) -> dict[str, Lifetime]:
        """Job id -> when its scheduler was alive (tests/ha/invariants.py's notion): from its process's start
        until the process ended, or until Airflow's loop had exited with `executor.end()` done, if earlier
        (a scheduler whose loop failed spends seconds more shutting down; its executor is gone by then)."""
        self.resolve_jobs()
        exits: dict[str, list[float]] = {}
        for name in {i.name for i in self.incarnations}:
            exits[name] = log_times(self.af.process_log(name), LOOP_EXITED)
        out = {}
        for inc in self.incarnations:
            if inc.job is None:
                continue
            ended = [t for t in exits[inc.name] if inc.start <= t and (inc.end is None or t <= inc.end)]
            end = min([*ended, *([inc.end] if inc.end is not None else [])], default=None)
            out[str(inc.job)] = Lifetime(inc.start, end)
        return out

    def resolver(self) -> Callable[[dict[str, Any]], str | None]:
        """Audit record -> the job id of the scheduler that sent it (None: not a scheduler).

        podherd's requests name their job id (`(replica <id>)`); the provider's name the process
        (`podherd-airflow-test (s1)`), whose incarnation at the request's time gives the job id.
        """
        from tests.ha.invariants import audit_time, replica_of

        self.resolve_jobs()
        by_name: dict[str, list[Incarnation]] = {}
        for inc in self.incarnations:
            by_name.setdefault(inc.name, []).append(inc)

        def resolve(rec: dict[str, Any]) -> str | None:
            rid = replica_of(rec)
            if rid is not None:
                return rid
            name = agent_of(rec)
            t = audit_time(rec["time"])
            for inc in by_name.get(name or "", []):
                if inc.alive_at(t) and inc.job is not None:
                    return str(inc.job)
            return None

        return resolve

    # ---- the database -------------------------------------------------------------------------
    def sql(self, query: str, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.db_dsn, autocommit=True) as conn:
            conn.execute("SET lock_timeout = 0")
            return list(conn.execute(query, params))  # type: ignore[arg-type]  # our own literal SQL

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        cols = ("map_index", "state", "try_number", "queued_by_job_id", "start_date", "end_date")
        rows = self.sql(
            f"SELECT {', '.join(cols)} FROM task_instance WHERE dag_id = %s AND run_id = %s", (dag_id, run_id)
        )
        return [dict(zip(cols, row, strict=True)) for row in rows]

    @contextlib.contextmanager
    def job_table_locked(self) -> Iterator[None]:
        """Hold an ACCESS EXCLUSIVE lock on `job`: every query on it fails after the sessions'
        lock_timeout meanwhile (postgres.py)."""
        import psycopg

        with psycopg.connect(self.db_dsn) as conn:
            conn.execute("SET lock_timeout = 0")
            conn.execute("LOCK TABLE job IN ACCESS EXCLUSIVE MODE")
            try:
                yield
            finally:
                conn.rollback()

    # ---- pods ---------------------------------------------------------------------------------
    def pods(self, prefix: str) -> list[Any]:
        return [p for p in self.cluster.pods() if p.metadata.name.startswith(prefix)]

    def wait(self, pred: Callable[[], Any], timeout: float, what: str) -> Any:
        return self.af.wait_for(pred, timeout, what)

    def stop(self) -> None:
        self.supervising = False
        for name, proc in list(self.af.procs.items()):
            self.af.forget(name)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
        for inc in self.incarnations:
            inc.end = inc.end or time.time()


def airflow_env(spec: ExecutorSpec) -> AirflowEnv:
    """The executor's venv (built by scripts/airflow-env.sh if missing), checked to hold its provider."""
    env = ensure_airflow_env(spec.venv)
    found = env.version("apache-airflow-providers-cncf-kubernetes")
    if found != spec.provider:
        raise RuntimeError(f"{env.venv} has provider {found}, expected {spec.provider}")
    return env
