"""The driver behind scripts/airflow-demo.sh: Airflow 3.3 + PodherdExecutor + the embedded cluster, one DAG run.

Runs with the Airflow venv's Python (`.venv-airflow/current`, which has podherd installed too).
Everything lives in one directory (default `.airflow-demo/`, recreated on each run):

    k8s/kubeconfig, k8s/cluster.log     the embedded cluster (`podherd cluster up --mode process`)
    airflow.cfg, pod_template.yaml      [core] executor = podherd.airflow.PodherdExecutor
    dags/podherd_demo.py                the demo DAG (examples/airflow/)
    logs/<process>.log                  the API server, DAG processor and scheduler
    pod-logs/                           what the task pods wrote

Stops everything on exit; `--once` exits as soon as the run has ended (0 if it succeeded).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "airflow"
DAG_ID = "podherd_demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def say(text: str) -> None:
    print(f"[airflow-demo] {text}", flush=True)


class Demo:
    def __init__(self, home: Path, port: int) -> None:
        self.home = home
        self.port = port
        self.bin = Path(sys.executable).parent
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        return self.home / "k8s" / "kubeconfig"

    @property
    def audit_log(self) -> Path:
        return self.home / "k8s" / "audit.jsonl"

    def pods_created(self) -> list[str]:
        """Names of the pods the scheduler created (from the cluster's audit log)."""
        if not self.audit_log.exists():
            return []
        records = [json.loads(line) for line in self.audit_log.read_text().splitlines() if line.strip()]
        return [r["name"] for r in records if r["resource"] == "pods" and r["verb"] == "create" and r["code"] == 201]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and k != "PYTHONPATH"}
        env.update(AIRFLOW_HOME=str(self.home), PATH=f"{self.bin}:{env.get('PATH', '/usr/bin:/bin')}")
        return env

    def write_files(self) -> None:
        (self.home / "dags").mkdir(parents=True)
        (self.home / "logs").mkdir()
        shutil.copy(EXAMPLES / "podherd_demo.py", self.home / "dags")
        template = (EXAMPLES / "pod_template.embedded.yaml").read_text()
        template = template.replace("@AIRFLOW_VENV_BIN@", str(self.bin)).replace("@AIRFLOW_HOME@", str(self.home))
        (self.home / "pod_template.yaml").write_text(template)
        cfg = {
            "core": {
                "executor": "podherd.airflow.PodherdExecutor",
                "dags_folder": self.home / "dags",
                "load_examples": "False",
                "dags_are_paused_at_creation": "False",
                "simple_auth_manager_all_admins": "True",  # demo only: everyone is an admin, no login
                "execution_api_server_url": f"{self.url}/execution/",
            },
            "database": {"sql_alchemy_conn": f"sqlite:///{self.home / 'airflow.db'}"},
            "api": {"host": "127.0.0.1", "port": self.port, "base_url": self.url, "secret_key": secrets.token_hex(32)},
            "api_auth": {"jwt_secret": secrets.token_hex(32)},
            "dag_processor": {"refresh_interval": "5"},
            "logging": {"base_log_folder": self.home / "task-logs"},
            "kubernetes_executor": {
                "namespace": "default",
                "pod_template_file": self.home / "pod_template.yaml",
                "in_cluster": "False",
                "config_file": self.kubeconfig,
                "worker_pods_creation_batch_size": "8",
            },
            "podherd": {"done_pod_retention": "600"},
        }
        lines = []
        for section, options in cfg.items():
            lines += [f"[{section}]", *(f"{k} = {v}" for k, v in options.items()), ""]
        (self.home / "airflow.cfg").write_text("\n".join(lines))

    def start(self, name: str, *argv: str) -> None:
        with open(self.home / "logs" / f"{name}.log", "ab") as out:
            self.procs[name] = subprocess.Popen(
                list(argv), env=self.env(), cwd=self.home, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def start_cluster(self) -> None:
        (self.home / "k8s").mkdir()
        log = open(self.home / "k8s" / "cluster.log", "ab")  # noqa: SIM115 (the child keeps it)
        proc = subprocess.Popen(
            [
                *(str(self.bin / "podherd"), "cluster", "up", "--port", "0"),
                *("--kubeconfig", str(self.kubeconfig), "--audit-log", str(self.audit_log)),
            ],
            env=self.env(),
            cwd=self.home / "k8s",
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
        self.procs["cluster"] = proc
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        if "ready at" not in line:
            raise SystemExit(f"the embedded cluster did not start; see {self.home / 'k8s' / 'cluster.log'}")
        say(f"embedded cluster {line.strip()}")

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}/api/v2{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")

    def wait(self, what: str, check: Any, timeout: float = 240) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise SystemExit(f"{dead} exited while waiting for {what}; see {self.home / 'logs'}")
            try:
                value = check()
            except Exception:
                value = None
            if value:
                return value
            time.sleep(1)
        raise SystemExit(f"timed out waiting for {what}; see {self.home / 'logs'}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def label(ti: dict[str, Any]) -> str:
    return ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}[{ti['map_index']}]"


def run_dag(demo: Demo) -> str:
    """Trigger the demo DAG and follow it to its end; returns the run's state."""
    run_id = demo.api("POST", f"/dags/{DAG_ID}/dagRuns", {"logical_date": None})["dag_run_id"]
    say(f"triggered {DAG_ID}, run {run_id}")
    last = ""
    while True:
        state = demo.wait("the DAG run", lambda: demo.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")["state"])
        tis = demo.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances?limit=100")["task_instances"]
        line = ", ".join(f"{label(t)}={t['state']}" for t in sorted(tis, key=lambda t: (t["task_id"], t["map_index"])))
        if line != last:
            say(line)
            last = line
        if state in ("success", "failed"):
            return str(state)
        time.sleep(2)


def where_to_look(demo: Demo, state: str) -> None:
    home, kc, bin_ = demo.home, demo.kubeconfig, demo.bin
    pods = demo.pods_created()
    say(f"{len(pods)} pods created, one per task try, each named from its task instance and try:")
    for name in pods:
        print(f"    {name}", flush=True)
    print(
        f"""
[airflow-demo] DAG run {state}.
  Airflow UI          {demo.url}   (every visitor is an admin: demo settings)
  the DAG             {home / "dags" / "podherd_demo.py"}
  airflow.cfg         {home / "airflow.cfg"}   ([core] executor = podherd.airflow.PodherdExecutor)
  process logs        {home / "logs"}/{{scheduler,api-server,dag-processor}}.log
  task logs           {home / "pod-logs"}   (also in the UI)
  the pods            kubectl --kubeconfig {kc} get pods -L airflow-worker,dag_id,task_id,try_number
                      (none left: each is deleted once the scheduler has committed its result)
  podherd's view      AIRFLOW_HOME={home} {bin_ / "airflow"} podherd status
  pod specs           AIRFLOW_HOME={home} {bin_ / "airflow"} podherd generate-dag-yaml {DAG_ID}
  API audit log       {demo.audit_log}   (every request, with the scheduler's User-Agent)""",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=REPO / ".airflow-demo")
    parser.add_argument("--port", type=int, default=0, help="the Airflow UI/API port (0: a free one)")
    parser.add_argument("--once", action="store_true", help="stop everything once the DAG run has ended")
    args = parser.parse_args()
    home = args.home.resolve()
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    demo = Demo(home, args.port or free_port())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        demo.start_cluster()
        demo.write_files()
        say("airflow db migrate")
        subprocess.run(
            [str(demo.bin / "airflow"), "db", "migrate"],
            env=demo.env(),
            cwd=home,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("api-server", "dag-processor", "scheduler"):
            demo.start(name, str(demo.bin / "airflow"), name)
        say(f"Airflow starting: API server {demo.url}, DAG processor, scheduler with PodherdExecutor")
        demo.wait("the API server", lambda: demo.api("GET", "/version"))
        demo.wait(f"DAG {DAG_ID} to be parsed", lambda: demo.api("GET", f"/dags/{DAG_ID}"))
        demo.wait("the scheduler", lambda: demo.api("GET", "/jobs?job_type=SchedulerJob&is_alive=true")["jobs"])
        state = run_dag(demo)
        where_to_look(demo, state)
        if not args.once:
            say("running until Ctrl-C")
            while all(p.poll() is None for p in demo.procs.values()):
                time.sleep(1)
        return 0 if state == "success" else 1
    except KeyboardInterrupt:
        return 0
    finally:
        say("stopping")
        demo.stop()


if __name__ == "__main__":
    sys.exit(main())
