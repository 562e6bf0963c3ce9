"""Scenario 5: the cost of one completed-pod sweep with 10,000 pods in the namespace, per executor.

Measured on the sweep's own code path, not on whole schedulers: 10,000 running Airflow processes
do not fit on two cores, and a sweep's cost does not depend on who else runs. An embedded cluster
in this process (no kubelet: pods are only stored, with a kubelet-shaped status) holds pods built
by podherd's Airflow manifests (the provider's labels and annotations, a real-sized workload in the
args), owned like benchmarks/sweep_cost.py's namespace: 90% by alive schedulers (me and two
siblings), 10% by a dead one; 70% Running, 25% Succeeded, 5% Failed.

Each executor's sweep runs in its own venv (sweep_client.py) as scheduler 1 with alive siblings 2
and 3, under its own User-Agent: a warm-up sweep, then `repeats` measured ones, 2.5 s apart (as sweeps
are: podherd's client-side rate limit starts each one with a full bucket). Between sweeps the pods it
claimed get their owner back (directly in the store), so every sweep sees the same namespace. Bytes and requests come from the cluster's audit log (`responseBytes`); CPU from the
client process (`time.process_time()`).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.airflowbench import judge
from benchmarks.airflowbench.fleet import ExecutorSpec, airflow_env
from benchmarks.sweep_cost import kubelet_status, mix
from podherd.airflow.keys import SCHEME, TIKey
from podherd.airflow.manifests import PodSettings, TaskRun, build_manifest
from podherd.localcluster.apimachinery.kinds import PODS
from podherd.localcluster.apiserver.server import ClusterConfig, LocalCluster

NAMESPACE = "sweep"
ME, ALIVE = "1", (2, 3)
CLIENT = Path(__file__).with_name("sweep_client.py")
TAG = "sweep-client:"
PAUSE = 2.5  # seconds between sweeps: podherd's token bucket (200 QPS, burst 400) is full again after 2 s
TEMPLATE = {"spec": {"containers": [{"name": "base", "image": "apache/airflow:3.3.2"}], "restartPolicy": "Never"}}
WORKLOAD = '{"token":"' + "x" * 600 + '","ti":{"id":"01a245b9-e7ba-7991-9627-b6be2c67794f","dag_version_id":"v"}}'


def manifest(i: int, owner: str) -> dict[str, Any]:
    """Pod `i` as an Airflow executor names and labels it (owner: the scheduler's job id)."""
    key = TIKey(f"etl_{i % 7}", f"load_{i % 97}", "scheduled__2026-11-24T00:00:00+00:00", i, 1, f"q-{i:08d}")
    workload = WORKLOAD.replace('"v"', f'"{i}"')
    return build_manifest(TaskRun(key, workload), int(owner), PodSettings(NAMESPACE, None, "3.3.2"), TEMPLATE)


def load(cluster: LocalCluster, pods: int) -> dict[str, str]:
    """Create the namespace's pods with their status; returns pod name -> owner."""
    cluster.call(cluster.api.create_namespace_object, NAMESPACE)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    owners: dict[str, str] = {}

    def batch(lo: int, hi: int) -> None:
        for i in range(lo, hi):
            owner, phase = mix(i)
            stored = cluster.api.create(PODS, NAMESPACE, manifest(i, owner), "sweep-bench")
            spec = {**stored["spec"], "nodeName": "local"}
            status = kubelet_status(stored, phase, now, i)
            cluster.store.update(
                "pods", (NAMESPACE, stored["metadata"]["name"]), {**stored, "spec": spec, "status": status}
            )
            owners[stored["metadata"]["name"]] = owner

    for lo in range(0, pods, 1000):
        cluster.call(batch, lo, min(pods, lo + 1000))
    return owners


def restore(cluster: LocalCluster, owners: dict[str, str]) -> int:
    """Give every pod its original owner back (a sweep's claims relabelled some); how many changed."""

    def run() -> int:
        n = 0
        for name, owner in owners.items():
            pod = cluster.store.get("pods", (NAMESPACE, name))
            labels = pod["metadata"]["labels"]
            if labels.get(SCHEME.owner_key) != owner:
                meta = {**pod["metadata"], "labels": {**labels, SCHEME.owner_key: owner}}
                cluster.store.update("pods", (NAMESPACE, name), {**pod, "metadata": meta})
                n += 1
        return n

    return int(cluster.call(run))


def measure(
    cluster: LocalCluster, kubeconfig: Path, owners: dict[str, str], spec: ExecutorSpec, home: Path, repeats: int
) -> dict[str, Any]:
    env = airflow_env(spec)
    agent = f"sweep-bench ({spec.key})"
    mode = "podherd" if spec.key == "podherd" else "provider"
    home.mkdir(parents=True, exist_ok=True)
    (home / "airflow.cfg").write_text(
        "[core]\nload_examples = False\nexecutor = KubernetesExecutor\n"
        f"[database]\nsql_alchemy_conn = sqlite:///{home / 'unused.db'}\n"
        f"[kubernetes_executor]\nnamespace = {NAMESPACE}\nin_cluster = False\nconfig_file = {kubeconfig}\n"
    )
    args = [str(env.python), str(CLIENT), mode, str(kubeconfig), NAMESPACE, ME, ",".join(map(str, ALIVE)), agent]
    proc_env = {"AIRFLOW_HOME": str(home), "PATH": f"{env.bin}:/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    with open(home / "client.log", "w") as err:
        proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, env=proc_env
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            if _reply(proc.stdout) != "ready":
                raise RuntimeError(f"{spec.key} sweep client failed:\n{(home / 'client.log').read_text()[-3000:]}")
            samples = []
            for _ in range(repeats + 1):
                time.sleep(PAUSE)  # sweeps are `orphaned_tasks_check_interval` apart: rate limiters refill
                start = time.time()
                proc.stdin.write("go\n")
                proc.stdin.flush()
                line = _reply(proc.stdout)
                if not line:
                    raise RuntimeError(f"{spec.key} sweep client died:\n{(home / 'client.log').read_text()[-3000:]}")
                samples.append(
                    {**_parse(line), "start": start, "end": time.time(), "restored": restore(cluster, owners)}
                )
            proc.stdin.write("quit\n")
            proc.stdin.flush()
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    records = judge.attribute(cluster_audit(cluster), lambda r: None)
    for s in samples:
        mine = [r for r in records if r["userAgent"] == agent and s["start"] <= r["t"] <= s["end"]]
        s["bytes"] = sum(int(r.get("responseBytes") or 0) for r in mine)
        s["requests"] = dict(Counter(f"{r['verb']} {r['resource'] or r['path']} {r['code']}" for r in mine))
        s["request_times"] = sorted(r["time"][11:] for r in mine)
    return summarise(samples)


def _reply(stream: Any) -> str:
    """The client's next protocol line (untagged lines are Airflow's own output); "" at its end."""
    for line in stream:
        if line.startswith(TAG):
            return str(line[len(TAG) :].strip())
    return ""


def _parse(line: str) -> dict[str, Any]:
    import json

    return dict(json.loads(line))


def summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The warm-up apart; medians of the measured sweeps."""
    first, rest = samples[0], samples[1:] or samples[:1]
    return {
        "cpu_ms": round(statistics.median(s["cpu_s"] for s in rest) * 1000, 1),
        "wall_ms": round(statistics.median(s["wall_s"] for s in rest) * 1000, 1),
        "bytes": int(statistics.median(s["bytes"] for s in rest)),
        "claimed": int(statistics.median(s["claimed"] for s in rest)),
        "requests": rest[-1]["requests"],
        "first": {k: first[k] for k in ("cpu_s", "wall_s", "bytes", "claimed", "requests")},
        "samples": [{k: s[k] for k in ("cpu_s", "wall_s", "bytes", "claimed", "start", "end")} for s in rest],
    }


def cluster_audit(cluster: LocalCluster) -> list[dict[str, Any]]:
    import json

    path = cluster.config.audit_log
    assert path is not None
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def sweep_cost(specs: list[ExecutorSpec], pods: int, repeats: int, workdir: Path) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    config = ClusterConfig(mode="none", audit_log=workdir / "audit.jsonl")
    with LocalCluster(config) as cluster:
        t = time.perf_counter()
        owners = load(cluster, pods)
        loaded = time.perf_counter() - t
        kubeconfig = cluster.write_kubeconfig(workdir / "kubeconfig")
        results = {}
        for spec in specs:
            print(f"  sweep cost: {spec.key}", flush=True)
            results[spec.key] = measure(cluster, kubeconfig, owners, spec, workdir / spec.key, repeats)
    by_owner = Counter(mix(i) for i in range(pods))
    return {
        "pods": pods,
        "load_seconds": round(loaded, 1),
        "repeats": repeats,
        "namespace": {f"{owner} {phase}": n for (owner, phase), n in sorted(by_owner.items())},
        "executors": results,
    }


if __name__ == "__main__":  # a quick look: python -m benchmarks.airflowbench.sweep 2000
    from benchmarks.airflowbench.fleet import EXECUTORS

    print(sweep_cost(list(EXECUTORS.values()), int(sys.argv[1]), 2, Path("/tmp/podherd-sweep-try")))
