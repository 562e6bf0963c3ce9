"""Real Apache Airflow 3.3 on podherd's embedded cluster: venvs, config, processes, DAG runs, audit.

Everything here is real: Airflow from PyPI in its own venv (`scripts/airflow-env.sh`), each Airflow
component a separate OS process in its own session (so `kill -9` and whole-group tear-down are
real), the embedded cluster as a `podherd cluster up` process in process mode (each task pod is a
local process running the Task SDK), SQLite for one scheduler or PostgreSQL for several.

    env = ensure_airflow_env("current")            # podherd + Airflow 3.3.2 + provider 10.25.0
    cluster = start_embedded_cluster(tmp / "k8s")   # `podherd cluster up --mode process`
    af = AirflowDeployment(env, tmp / "airflow", cluster.kubeconfig, executor=KUBERNETES_EXECUTOR)
    af.start(schedulers=1)                          # db migrate, api-server, dag-processor, scheduler s1
    run_id = af.trigger("podherd_probe")
    run = af.wait_run("podherd_probe", run_id)      # {"state": "success" | "failed", ...}
    tis = af.task_instances("podherd_probe", run_id)
    af.stop(); cluster.stop()

Each scheduler is named (`s1`, `s2`, ...). Its Kubernetes requests carry the User-Agent
`podherd-airflow-test (<name>)` and its `job` row has `hostname = <name>` (see pyhooks/), so
`scheduler_job_ids()` maps names to the `airflow-worker` label values of the pods they launch and
`agent_of(record)` tells who sent each request in the cluster's audit log.

Reading Airflow's state: the REST API (`/api/v2`, open because `simple_auth_manager_all_admins`)
is the stable way and is what the helpers use; `db_engine()` gives SQLAlchemy access to the same
metadata DB (tables `dag_run`, `task_instance`, `task_instance_history`, `job`, `log`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.ha.harness import Harness, free_port

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PYHOOKS = HERE / "pyhooks"
DAGS = HERE / "dags"
ENV_SCRIPT = REPO / "scripts" / "airflow-env.sh"

KUBERNETES_EXECUTOR = "airflow.providers.cncf.kubernetes.executors.kubernetes_executor.KubernetesExecutor"
PODHERD_EXECUTOR = "podherd.airflow.PodherdExecutor"
AIRFLOW_IMAGE = ("apache/airflow", "3.3.2")  # any valid reference: process mode never pulls
TERMINAL_RUN_STATES = frozenset({"success", "failed"})
USER_AGENT = re.compile(r"^podherd-airflow-test \((?P<name>[^)]+)\)")
PODHERD_AGENT = re.compile(
    r"^podherd/\S+ \((?:replica \d+|airflow)\) airflow/(?P<name>\S+)$"
)  # podherd.airflow.runtime
API_SERVER = "api-server"
DAG_PROCESSOR = "dag-processor"
TRIGGERER = "triggerer"

Record = dict[str, Any]


# ---- venvs ----------------------------------------------------------------------------------------
def env_root() -> Path:
    """Where `scripts/airflow-env.sh` keeps the venvs (PODHERD_AIRFLOW_ENVS, else <repo>/.venv-airflow)."""
    return Path(os.environ.get("PODHERD_AIRFLOW_ENVS") or REPO / ".venv-airflow")


@dataclass(frozen=True)
class AirflowEnv:
    """One Airflow venv built by `scripts/airflow-env.sh` (`current` or `thrash`)."""

    name: str
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    @property
    def airflow(self) -> Path:
        return self.bin / "airflow"

    def version(self, distribution: str) -> str:
        out = subprocess.run(
            [
                str(self.python),
                "-c",
                "import sys, importlib.metadata as m; print(m.version(sys.argv[1]))",
                distribution,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return out.stdout.strip()


def ensure_airflow_env(name: str = "current", timeout: float = 1800) -> AirflowEnv:
    """Build (or find up to date) the venv `name` with `scripts/airflow-env.sh`; never skips: installs.

    The script is idempotent and holds a lock, so parallel callers wait for one build. Its output
    goes to `<env root>/<name>.build.log`; a failed build raises with the log's tail.
    """
    root = env_root()
    root.mkdir(parents=True, exist_ok=True)
    log = root / f"{name}.build.log"
    with open(log, "w") as out:
        proc = subprocess.run(
            ["bash", str(ENV_SCRIPT), name], stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False
        )
    if proc.returncode != 0:
        raise RuntimeError(f"scripts/airflow-env.sh {name} failed ({proc.returncode}):\n{log.read_text()[-4000:]}")
    env = AirflowEnv(name, root / name)
    if not env.airflow.exists():
        raise RuntimeError(f"{env.airflow} missing after scripts/airflow-env.sh {name}:\n{log.read_text()[-4000:]}")
    return env


# ---- the embedded cluster -----------------------------------------------------------------------------
def start_embedded_cluster(tmp: Path, *args: str) -> Harness:
    """`podherd cluster up --mode process` in `tmp` (kubeconfig, audit.jsonl, cluster.log there).

    The returned object is the HA tests' harness (tests/ha/harness.py) with no replicas: use
    `.kubeconfig`, `.audit()`, `.pods(ns)`, `.core` (a CoreV1Api) and `.stop()`.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    cluster = Harness(tmp=tmp, db_url="", mode="process", cluster_args=tuple(args))
    cluster.start_cluster()
    return cluster


def agent_of(record: Record) -> str | None:
    """Name of the harness process that sent an audit record (`s1`, `api-server`), else None.

    The provider's clients carry the harness's User-Agent; podherd's executor sets its own,
    `podherd/<v> (replica <job id>) airflow/<hostname>`, whose hostname is the process name here.
    """
    agent = record.get("userAgent", "")
    m = USER_AGENT.match(agent) or PODHERD_AGENT.match(agent)
    return m.group("name") if m else None


def pod_label_requests(records: Iterable[Record], verb: str) -> list[Record]:
    return [r for r in records if r["resource"] == "pods" and r["verb"] == verb]


# ---- Airflow --------------------------------------------------------------------------------------------
def fanout_dag(dag_id: str, tasks: int, seconds: float = 1.0) -> str:
    """Source of a DAG with one task mapped `tasks` times, each sleeping `seconds` (load tests)."""
    return f'''"""Written by tests/airflow/harness.py: {tasks} mapped tasks of {seconds}s each."""

import time

import pendulum
from airflow.sdk import dag, task


@dag(dag_id={dag_id!r}, schedule=None, start_date=pendulum.datetime(2024, 1, 1), catchup=False,
     max_active_tasks={tasks})
def fanout():
    @task
    def sleep(i: int) -> int:
        time.sleep({seconds!r})
        return i

    sleep.expand(i=list(range({tasks})))


fanout()
'''


class AirflowError(AssertionError):
    """A harness wait or request failed; the message carries the Airflow processes' log tails."""


@dataclass
class AirflowDeployment:
    """One AIRFLOW_HOME with its airflow.cfg, pod template, DAGs folder, DB and processes.

    `db_url` is a SQLAlchemy URL for Airflow's metadata DB; None means SQLite in the home (one
    scheduler only). A PostgreSQL URL should use the `postgresql+psycopg` driver (psycopg 3, which
    Airflow then uses for its async engine too). `config` overrides or adds airflow.cfg options:
    `{"scheduler": {"orphaned_tasks_check_interval": "5"}}`.
    """

    env: AirflowEnv
    home: Path
    kubeconfig: Path
    executor: str = KUBERNETES_EXECUTOR
    db_url: str | None = None
    namespace: str = "default"
    config: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    dag_files: Sequence[Path] = (DAGS / "podherd_probe.py",)
    extra_dags: Mapping[str, str] = field(default_factory=dict)  # file name -> source
    api_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    forgotten: set[str] = field(default_factory=set)  # killed on purpose: may be dead
    prepared: bool = False

    # ---- files --------------------------------------------------------------------------------------
    @property
    def dags_folder(self) -> Path:
        return self.home / "dags"

    @property
    def pod_template(self) -> Path:
        return self.home / "pod_template.yaml"

    @property
    def log_dir(self) -> Path:
        return self.home / "process-logs"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def sql_alchemy_conn(self) -> str:
        return self.db_url or f"sqlite:///{self.home / 'airflow.db'}"

    def cfg(self) -> dict[str, dict[str, str]]:
        """airflow.cfg as sections; `config` is merged over these defaults."""
        sections: dict[str, dict[str, str]] = {
            "core": {
                "dags_folder": str(self.dags_folder),
                "executor": self.executor,
                "load_examples": "False",
                "dags_are_paused_at_creation": "False",
                "simple_auth_manager_all_admins": "True",
                "execution_api_server_url": f"{self.api_url}/execution/",
                "parallelism": "32",
            },
            "database": {"sql_alchemy_conn": self.sql_alchemy_conn},
            "api": {
                "host": "127.0.0.1",
                "port": str(self.api_port),
                "base_url": self.api_url,
                "secret_key": "podherd-airflow-test-secret-key",
                "workers": "1",
            },
            "api_auth": {"jwt_secret": "podherd-airflow-test-jwt-secret"},
            "dag_processor": {"refresh_interval": "5", "bundle_refresh_check_interval": "1"},
            "logging": {"base_log_folder": str(self.home / "logs"), "colored_console_log": "False"},
            "kubernetes_executor": {
                "namespace": self.namespace,
                "pod_template_file": str(self.pod_template),
                "in_cluster": "False",
                "config_file": str(self.kubeconfig),
                "worker_container_repository": AIRFLOW_IMAGE[0],
                "worker_container_tag": AIRFLOW_IMAGE[1],
            },
        }
        if self.db_url and self.db_url.startswith("postgresql+psycopg:"):
            sections["database"]["sql_alchemy_conn_async"] = self.db_url
        for section, options in self.config.items():
            sections.setdefault(section, {}).update(options)
        return sections

    def pod_template_yaml(self) -> str:
        """A pod template for process mode: the task runs `python` from the Airflow venv's PATH.

        The pod's AIRFLOW_HOME is this home (same airflow.cfg: execution API URL, DAGs folder), but
        its task log files go to `pod-logs/`, apart from the API server's `logs/`: as on a real
        cluster, the API server reads a running task's log only through the executor (pod logs).
        """
        env = {
            "PATH": f"{self.env.bin}:/usr/local/bin:/usr/bin:/bin",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "pod-logs"),
        }
        lines = [
            "apiVersion: v1",
            "kind: Pod",
            "metadata:",
            "  name: placeholder-name",
            "spec:",
            "  restartPolicy: Never",
            "  containers:",
            "    - name: base",
            f"      image: {AIRFLOW_IMAGE[0]}:{AIRFLOW_IMAGE[1]}",
            "      imagePullPolicy: IfNotPresent",
            "      env:",
        ]
        for name, value in env.items():
            lines += [f"        - name: {name}", f"          value: {json.dumps(value)}"]
        return "\n".join(lines) + "\n"

    def write_files(self) -> None:
        """airflow.cfg, pod_template.yaml and the DAGs folder (no DB, no processes)."""
        self.dags_folder.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        text = []
        for section, options in self.cfg().items():
            text.append(f"[{section}]")
            text += [f"{k} = {v.replace('%', '%%')}" for k, v in options.items()]
            text.append("")
        (self.home / "airflow.cfg").write_text("\n".join(text))
        self.pod_template.write_text(self.pod_template_yaml())
        for path in self.dag_files:
            shutil.copy(path, self.dags_folder / path.name)
        for name, source in self.extra_dags.items():
            (self.dags_folder / name).write_text(source)

    def process_env(self, name: str | None = None) -> dict[str, str]:
        """Environment of an Airflow process; a named one gets the User-Agent and hostname hooks."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AIRFLOW") and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
        }
        env["AIRFLOW_HOME"] = str(self.home)
        env["PATH"] = f"{self.env.bin}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
        env["PYTHONUNBUFFERED"] = "1"
        if name:
            env["PYTHONPATH"] = str(PYHOOKS)
            env["PODHERD_AIRFLOW_PROCESS"] = name
            env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = "podherd_airflow_hooks.hostname"
        return env

    def cli(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `airflow ARGS...` (argv, no shell) against this home."""
        proc = subprocess.run(
            [str(self.env.airflow), *args],
            env=self.process_env(),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AirflowError(
                f"airflow {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        return proc

    def prepare(self) -> None:
        """Write the files and migrate the metadata DB (`airflow db migrate`)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.write_files()
        self.cli("db", "migrate", timeout=600)
        self.prepared = True

    # ---- processes ------------------------------------------------------------------------------------
    def start_process(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """`airflow ARGS...` as process `name`, in its own session, output to process-logs/<name>.log."""
        if name in self.procs and self.procs[name].poll() is None:
            raise AirflowError(f"process {name} is already running")
        out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (the child keeps it)
        try:
            proc = subprocess.Popen(
                [str(self.env.airflow), *args],
                env=self.process_env(name),
                cwd=self.home,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            out.close()
        self.procs[name] = proc
        return proc

    def start_scheduler(self, name: str) -> subprocess.Popen[bytes]:
        return self.start_process(name, "scheduler")

    def start(
        self,
        schedulers: int | Sequence[str] = 1,
        *,
        triggerer: bool = False,
        dag_ids: Sequence[str] = ("podherd_probe",),
        timeout: float = 240,
    ) -> float:
        """Prepare if needed, start everything, wait until it is ready; returns the seconds it took.

        Ready: the API server answers, every `dag_ids` DAG is parsed, and every scheduler is a
        running SchedulerJob with a heartbeat.
        """
        t0 = time.monotonic()
        names = [f"s{i + 1}" for i in range(schedulers)] if isinstance(schedulers, int) else list(schedulers)
        if not self.prepared:
            self.prepare()
        self.start_process(API_SERVER, "api-server")
        self.start_process(DAG_PROCESSOR, "dag-processor")
        if triggerer:
            self.start_process(TRIGGERER, "triggerer")
        for name in names:
            self.start_scheduler(name)
        self.wait_for(self.api_ready, timeout, "the API server")
        for dag_id in dag_ids:
            self.wait_for(lambda d=dag_id: self.dag_parsed(d), timeout, f"DAG {dag_id} to be parsed")
        self.wait_for(lambda: set(names) <= set(self.scheduler_job_ids(alive=True)), timeout, f"schedulers {names}")
        return time.monotonic() - t0

    def running(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> float:
        """Signal process `name`'s whole group (kill -9 takes its watcher and Manager children too)."""
        proc = self.procs[name]
        self.forget(name)
        t = time.time()
        _signal_group(proc, sig)
        proc.wait(timeout=60)
        return t

    def stop_process(self, name: str, grace: float = 25) -> None:
        """SIGTERM the leader (Airflow ends its own children), then SIGKILL whatever is left of its group."""
        self.stop_processes([name], grace)

    def stop_processes(self, names: Iterable[str], grace: float = 25) -> None:
        """`stop_process` for several at once: all get SIGTERM, then share one grace period.

        The provider's scheduler needs about 20 s to stop: `end()` gives its watcher process 20 s
        to exit after SIGTERM and then kills it.
        """
        procs = [(n, self.procs[n]) for n in names if n in self.procs]
        for name, proc in procs:
            self.forget(name)
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for _, proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        for _, proc in procs:
            _signal_group(proc, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)

    def stop(self, grace: float = 25) -> None:
        """Stop every process at once (SIGTERM each, one shared grace period, then SIGKILL)."""
        self.stop_processes(list(self.procs), grace)

    def process_log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(
            f"== {p.stem}\n{p.read_text(errors='replace')[-tail:]}" for p in sorted(self.log_dir.glob("*.log"))
        )

    def wait_for(self, pred: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
        """Poll `pred` until truthy; fail early if an Airflow process died, with the logs."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = pred()
            except (OSError, urllib.error.URLError, AirflowError):
                value = None
            if value:
                return value
            dead = [n for n, p in self.procs.items() if p.poll() is not None and n not in self.forgotten]
            if dead:
                raise AirflowError(f"{dead} exited while waiting for {what}\n{self.logs()}")
            if time.monotonic() > deadline:
                raise AirflowError(f"timed out after {timeout}s waiting for {what}\n{self.logs()}")
            time.sleep(interval)

    def forget(self, name: str) -> None:
        """Stop treating process `name` as one that must stay alive (`kill` does this itself)."""
        self.forgotten.add(name)

    # ---- REST API -----------------------------------------------------------------------------------------
    def api(self, method: str, path: str, body: Any = None, *, accept: str = "application/json") -> Any:
        """One call to the public REST API (`/api/v2` + path); the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.api_url}/api/v2{path}", data=data, method=method)
        req.add_header("Accept", accept)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise AirflowError(f"{method} {path}: {e.code} {e.read()[:2000]!r}") from e
        return json.loads(raw) if raw else None

    def api_ready(self) -> bool:
        return bool(self.api("GET", "/version").get("version"))

    def dag_parsed(self, dag_id: str) -> bool:
        try:
            return self.api("GET", f"/dags/{q(dag_id)}")["dag_id"] == dag_id
        except AirflowError:
            return False

    def scheduler_job_ids(self, alive: bool = False) -> dict[str, int]:
        """Scheduler name (its job's hostname) -> newest job id; `alive`: running with a fresh heartbeat."""
        params = "job_type=SchedulerJob&order_by=id&limit=100" + ("&is_alive=true" if alive else "")
        jobs = self.api("GET", f"/jobs?{params}")["jobs"]
        return {j["hostname"]: j["id"] for j in jobs}

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> str:
        """Start a manual DAG run; returns its run_id."""
        run = self.api("POST", f"/dags/{q(dag_id)}/dagRuns", {"logical_date": None, "conf": dict(conf or {})})
        return str(run["dag_run_id"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/dags/{q(dag_id)}/dagRuns/{q(run_id)}"))

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 300) -> dict[str, Any]:
        """Wait for the run's end state (success or failed); returns the run."""
        return dict(
            self.wait_for(
                lambda: (r := self.dag_run(dag_id, run_id))["state"] in TERMINAL_RUN_STATES and r,
                timeout,
                f"run {dag_id}/{run_id} to end",
                interval=1.0,
            )
        )

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        """Task instances of a run by `task_id` (mapped ones as `task_id[i]`)."""
        out: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            page = self.api("GET", f"/dags/{q(dag_id)}/dagRuns/{q(run_id)}/taskInstances?limit=100&offset={offset}")
            for ti in page["task_instances"]:
                key = ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}[{ti['map_index']}]"
                out[key] = ti
            offset += len(page["task_instances"])
            if not page["task_instances"] or offset >= page["total_entries"]:
                return out

    def wait_task_state(
        self, dag_id: str, run_id: str, task_id: str, states: Iterable[str], timeout: float = 180
    ) -> dict[str, Any]:
        wanted = set(states)
        return dict(
            self.wait_for(
                lambda: (ti := self.task_instances(dag_id, run_id).get(task_id)) and ti["state"] in wanted and ti,
                timeout,
                f"{task_id} to reach {sorted(wanted)}",
            )
        )

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[dict[str, Any]]:
        """Every try of a task instance (task_instance_history plus the current one)."""
        path = f"/dags/{q(dag_id)}/dagRuns/{q(run_id)}/taskInstances/{q(task_id)}"
        path += f"/{map_index}/tries" if map_index >= 0 else "/tries"
        return list(self.api("GET", path)["task_instances"])

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        """The task log as the UI shows it (for a running task: read by the executor), one event a line."""
        path = f"/dags/{q(dag_id)}/dagRuns/{q(run_id)}/taskInstances/{q(task_id)}/logs/{try_number}"
        answer = self.api("GET", f"{path}?full_content=true&map_index={map_index}")
        content = answer.get("content") or []
        if isinstance(content, str):
            return content
        return "\n".join(str(item.get("event", item)) if isinstance(item, dict) else str(item) for item in content)

    # ---- the metadata DB directly ---------------------------------------------------------------------
    def db_engine(self) -> Any:
        """A SQLAlchemy engine on Airflow's metadata DB (from the test's own venv; dispose it after)."""
        from sqlalchemy import create_engine

        return create_engine(self.sql_alchemy_conn)


def q(part: str) -> str:
    """Quote one URL path segment (run ids hold ':' and '+')."""
    return urllib.parse.quote(part, safe="")


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Signal the process group led by `proc` (started with start_new_session=True)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


# ---- a process supervisor ------------------------------------------------------------------------------
COMMANDS = {API_SERVER: ("api-server",), DAG_PROCESSOR: ("dag-processor",), TRIGGERER: ("triggerer",)}


class Supervisor(threading.Thread):
    """Restarts the Airflow processes it watches when they exit, as Kubernetes restarts a crashed container.

    Airflow 3.3's scheduler, API server and DAG processor exit when their database goes away (the
    scheduler's loop re-raises, `executor.end()` runs, the process ends); a deployment relies on its
    supervisor to start them again. `incarnations[name]` lists each run as [started, ended or None]
    (time.time()), so a test can tell which scheduler process was alive when.
    """

    def __init__(self, af: AirflowDeployment, names: Sequence[str], since: float, period: float = 1.0) -> None:
        """`since`: when the processes it takes over were started."""
        super().__init__(name="airflow-supervisor", daemon=True)
        self.af = af
        self.names = list(names)
        self.period = period
        self.stopping = threading.Event()
        self.incarnations: dict[str, list[list[float | None]]] = {n: [[since, None]] for n in names}
        for name in names:
            af.forget(name)  # may die: wait_for must not fail on it

    def run(self) -> None:
        while not self.stopping.wait(self.period):
            for name in self.names:
                proc = self.af.procs.get(name)
                if proc is None or proc.poll() is None:
                    continue
                self.incarnations[name][-1][1] = time.time()
                self.af.start_process(name, *COMMANDS.get(name, ("scheduler",)))
                self.incarnations[name].append([time.time(), None])

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
        for name in self.names:
            proc = self.af.procs.get(name)
            if proc is not None and proc.poll() is not None and self.incarnations[name][-1][1] is None:
                self.incarnations[name][-1][1] = time.time()

    def restarts(self) -> dict[str, int]:
        return {name: len(runs) - 1 for name, runs in self.incarnations.items()}
