"""One replica against the local cluster and real SQLite: every pod outcome, API errors and faults."""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from podherd.config import Config, load_config
from podherd.core.kube.client import KubeClient
from podherd.localcluster.apimachinery.kinds import LEASES
from podherd.localcluster.apiserver.faults import Faults
from podherd.localcluster.apiserver.server import ClusterConfig, LocalCluster
from podherd.standalone.db import open_database, queries
from podherd.standalone.db.rows import TaskRow
from podherd.standalone.replica import Replica
from podherd.standalone.taskfile import parse_tasks

PY = sys.executable


def make_config(ns: str, **overrides: str) -> Config:
    env = {"PODHERD__KUBERNETES_EXECUTOR__NAMESPACE": ns, "PODHERD__SCHEDULER__LOOP_IDLE_SLEEP": "0.05"}
    env.update({f"PODHERD__{k.upper()}": v for k, v in overrides.items()})
    return load_config(None, env)


def run_tasks(
    cluster: LocalCluster, tmp: Path, ns: str, tasks: list[dict[str, Any]], timeout: float = 120, **cfg: str
) -> tuple[list[TaskRow], Replica]:
    """Insert `tasks`, run one replica until all are terminal and cleanup is idle; return the task rows."""
    config = make_config(ns, **cfg)
    engine = open_database(f"sqlite:///{tmp}/podherd-{uuid.uuid4().hex[:6]}.db")
    ids = set(queries.insert_tasks(engine, parse_tasks(tasks, "test"), ns))
    kube = KubeClient(cluster.api_client().configuration, qps=1000, burst=1000)
    replica = Replica(config, engine, kube)
    replica.start()
    deadline = time.monotonic() + timeout
    last = [0.0]

    def finished() -> bool:
        if time.monotonic() > deadline:
            raise AssertionError(f"tasks did not finish in {timeout}s: {queries.count_tasks_by_state(engine)}")
        if time.monotonic() - last[0] < 0.1:
            return False
        last[0] = time.monotonic()
        counts = queries.count_tasks_by_state(engine)
        return counts.get("queued", 0) + counts.get("running", 0) == 0 and not replica.executor.busy()

    try:
        replica.run(until=finished)
    finally:
        replica.shutdown()
    rows = [t for t in queries.list_tasks(engine) if t.id in ids]
    return rows, replica


def pods_left(core: client.CoreV1Api, ns: str, timeout: float = 10) -> list[str]:
    """Pods still in `ns` once deletions have had `timeout` seconds to land."""
    deadline = time.monotonic() + timeout
    while True:
        names = [p.metadata.name for p in core.list_namespaced_pod(ns).items]
        if not names or time.monotonic() > deadline:
            return names
        time.sleep(0.1)


def task(name: str, *argv: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox:1.36", "command": list(argv), **extra}


@pytest.fixture
def fresh_ns(core: client.CoreV1Api) -> Iterator[str]:
    name = "ex-" + uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": name}})
    yield name


def test_200_tasks_all_succeed_and_no_pod_is_left(
    cluster: LocalCluster, core: client.CoreV1Api, fresh_ns: str, tmp_path: Path
) -> None:
    tasks = [task(f"t{i}", PY, "-c", f"print({i})") for i in range(200)]
    rows, replica = run_tasks(cluster, tmp_path, fresh_ns, tasks)
    assert [t.state for t in rows] == ["success"] * 200
    assert all(t.try_number == 1 and t.attempts[0].exit_code == 0 for t in rows)
    assert replica.executor.stats.launched == 200
    assert pods_left(core, fresh_ns) == []


def test_retry_then_success(cluster: LocalCluster, core: client.CoreV1Api, fresh_ns: str, tmp_path: Path) -> None:
    script = 'if [ "$PODHERD_TRY_NUMBER" = 1 ]; then exit 3; fi; echo ok'
    rows, _ = run_tasks(
        cluster,
        tmp_path,
        fresh_ns,
        [task("flaky", "sh", "-c", script, max_tries=3)],
        kubernetes_executor__delete_worker_pods_on_failure="true",
    )
    (t,) = rows
    assert t.state == "success" and t.try_number == 2
    first, second = t.attempts
    assert first.state == "failed" and first.exit_code == 3 and first.failure["reason"] == "Error"
    assert second.state == "success" and second.pod_name != first.pod_name
    assert pods_left(core, fresh_ns) == []


def test_failure_without_tries_left(cluster: LocalCluster, fresh_ns: str, tmp_path: Path) -> None:
    rows, _ = run_tasks(
        cluster,
        tmp_path,
        fresh_ns,
        [task("bad", "sh", "-c", "echo boom >&2; exit 7")],
        kubernetes_executor__delete_worker_pods_on_failure="true",
    )
    (t,) = rows
    assert t.state == "failed" and t.try_number == 1
    assert t.attempts[0].exit_code == 7
    assert t.attempts[0].failure["container_name"] == "base"
    assert t.attempts[0].failure["log_tail"] == "boom\n"  # read before the pod was removed


def test_timeout_kills_the_pod(cluster: LocalCluster, core: client.CoreV1Api, fresh_ns: str, tmp_path: Path) -> None:
    started = time.monotonic()
    rows, replica = run_tasks(cluster, tmp_path, fresh_ns, [task("slow", "sleep", "60", timeout=1)])
    (t,) = rows
    assert t.state == "failed"
    assert t.attempts[0].failure["reason"] == "timeout"
    assert replica.executor.stats.timeouts == 1
    assert pods_left(core, fresh_ns, timeout=40) == []
    assert time.monotonic() - started < 60  # it did not wait for the sleep


def test_sigkill_fails_the_attempt_and_it_is_retried(
    cluster: LocalCluster, core: client.CoreV1Api, fresh_ns: str, tmp_path: Path
) -> None:
    # (not `kill -9 $$`: Kubernetes turns `$$` in command/args into a literal `$`)
    script = (
        "import os, signal\n"
        "if os.environ['PODHERD_TRY_NUMBER'] == '1':\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "print('survived')\n"
    )
    rows, _ = run_tasks(
        cluster,
        tmp_path,
        fresh_ns,
        [task("killed", PY, "-c", script, max_tries=2)],
        kubernetes_executor__done_pod_retention="1",
    )
    (t,) = rows
    assert t.state == "success" and t.try_number == 2
    assert t.attempts[0].exit_code == 137 and t.attempts[0].state == "failed"


def test_failed_pods_are_kept_labelled_done_then_removed(
    cluster: LocalCluster, core: client.CoreV1Api, fresh_ns: str, tmp_path: Path
) -> None:
    rows, replica = run_tasks(
        cluster,
        tmp_path,
        fresh_ns,
        [task("keep", "sh", "-c", "exit 2")],
        kubernetes_executor__done_pod_retention="2",
    )
    assert rows[0].state == "failed"
    pods = core.list_namespaced_pod(fresh_ns).items
    assert len(pods) == 1
    assert pods[0].metadata.labels["podherd.io/done"] == "true"
    assert pods[0].status.phase == "Failed"
    # the retention sweep removes it: run the owner's replica a little longer
    sweep_cfg = make_config(fresh_ns, kubernetes_executor__done_pod_retention="2")
    engine = replica.engine
    kube = KubeClient(cluster.api_client().configuration)
    from podherd.core.executor.cleanup import Cleaner
    from podherd.core.executor.retention import RetentionSweep

    cleaner = Cleaner(kube, replica.scheme, str(replica.job_id))
    sweep = RetentionSweep(
        kube,
        cleaner,
        replica.scheme,
        lambda: [fresh_ns],
        lambda: [str(replica.job_id)],
        sweep_cfg.kubernetes_executor.done_pod_retention,
        0,
    )
    time.sleep(2.1)
    assert sweep.run() == 1
    cleaner.shutdown()
    assert pods_left(core, fresh_ns) == []
    assert engine is not None


def test_kept_pods_with_delete_worker_pods_false(
    cluster: LocalCluster, core: client.CoreV1Api, fresh_ns: str, tmp_path: Path
) -> None:
    rows, _ = run_tasks(
        cluster,
        tmp_path,
        fresh_ns,
        [task(f"k{i}", "true") for i in range(3)],
        kubernetes_executor__delete_worker_pods="false",
    )
    assert [t.state for t in rows] == ["success"] * 3
    pods = core.list_namespaced_pod(fresh_ns).items
    assert len(pods) == 3 and all(p.metadata.labels["podherd.io/done"] == "true" for p in pods)
    assert all(p.metadata.annotations["podherd.io/done-at"] for p in pods)


def test_permanent_create_error_fails_with_the_api_reason(cluster: LocalCluster, tmp_path: Path) -> None:
    missing = "absent-" + uuid.uuid4().hex[:6]
    rows, replica = run_tasks(cluster, tmp_path, "default", [task("nowhere", "true", namespace=missing)])
    (t,) = rows
    assert t.state == "failed"
    failure = t.attempts[0].failure
    assert failure["reason"] == "pod create failed: NotFound"
    assert failure["message"] == f'namespaces "{missing}" not found'
    assert replica.executor.stats.create_retries == 0


def test_fatal_waiting_reason_fails_and_deletes(
    cluster: LocalCluster, core: client.CoreV1Api, fresh_ns: str, tmp_path: Path
) -> None:
    rows, _ = run_tasks(
        cluster, tmp_path, fresh_ns, [{"name": "img", "image": "Not A Valid Image", "command": ["true"]}]
    )
    (t,) = rows
    assert t.state == "failed"
    assert t.attempts[0].failure["reason"] == "InvalidImageName"
    assert pods_left(core, fresh_ns) == []


def test_pod_deleted_by_someone_else_fails_the_attempt(
    cluster: LocalCluster, core: client.CoreV1Api, fresh_ns: str, tmp_path: Path
) -> None:
    def delete_soon() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pods = core.list_namespaced_pod(fresh_ns).items
            if pods and pods[0].status.phase == "Running":
                core.delete_namespaced_pod(pods[0].metadata.name, fresh_ns, grace_period_seconds=0)
                return
            time.sleep(0.05)

    threading.Thread(target=delete_soon, daemon=True).start()
    rows, _ = run_tasks(cluster, tmp_path, fresh_ns, [task("victim", "sleep", "30")])
    (t,) = rows
    assert t.state == "failed"
    assert t.attempts[0].failure["reason"] == "pod deleted"


def test_faults_every_task_ends_correctly_and_nothing_leaks(tmp_path: Path) -> None:
    faults = Faults(
        error_rate={"*": 0.05},
        throttle_rate=0.03,
        retry_after=1,
        drop_watches_every=2,
        compact_every=1.5,
        seed=7,
    )
    cfg = ClusterConfig(mode="process", faults=faults, bookmark_interval=1.0)
    with LocalCluster(cfg) as cluster:
        core = client.CoreV1Api(cluster.api_client())
        ns = "faults"
        cluster.call(lambda: cluster.api.create_namespace_object(ns))
        tasks = [task(f"f{i}", PY, "-c", "import time; time.sleep(1)") for i in range(100)]
        tasks.append(task("fails", "sh", "-c", "exit 4"))

        def expire_everything() -> None:
            # One write, then compaction, then a drop: the watcher's resume RV is now too old (410).
            cluster.api.create(LEASES, "default", {"metadata": {"generateName": "tick-"}})
            cluster.store.compact()
            cluster.handlers.drop_watches()

        injector = threading.Timer(3.0, lambda: cluster.call(expire_everything))
        injector.start()
        rows, replica = run_tasks(
            cluster,
            tmp_path,
            ns,
            tasks,
            timeout=240,
            kubernetes_executor__task_publish_max_retries="10",
            kubernetes_executor__delete_worker_pods_on_failure="true",
        )
        injector.join()
        by_name = {t.name: t for t in rows}
        assert by_name.pop("fails").state == "failed"
        assert {t.state for t in by_name.values()} == {"success"}
        watchers = list(replica.executor.watchers.values())
        assert sum(w.stats.restarts for w in watchers) > 1  # the drops really happened ...
        assert sum(w.stats.expired for w in watchers) >= 1  # ... and resuming after compaction met a 410
        cluster.faults.update({"error_rate": {}, "throttle_rate": 0.0})
        assert pods_left(core, ns, timeout=20) == []
        counts = {(v, c): n for (v, _r, c), n in cluster.request_counts.items()}
        assert sum(n for (_v, c), n in counts.items() if c in (500, 503)) > 0
        assert sum(n for (_v, c), n in counts.items() if c == 429) > 0
