"""An unusable API does no harm (DESIGN §4.10), with a real replica process and a real API server.

A replica the API refuses (wrong token, closed port, RBAC 403, a new CA) claims nothing and burns
no try, says why in `/readyz` and `podherd status`, logs a few lines (no flood, no traceback),
and recovers by itself once the API accepts it again, re-reading its kubeconfig.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from podherd.standalone.db import queries
from tests.ha.harness import PODHERD, Harness, free_port, sim_task

pytestmark = pytest.mark.integration


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path, f"sqlite:///{tmp_path}/api.db")
    yield harness
    harness.stop()


def task(name: str, tries: int = 3) -> dict[str, Any]:
    return {**sim_task(name, seconds=0.3), "max_tries": tries}


def only_task(h: Harness, task_id: int) -> Any:
    return next(t for t in queries.list_tasks(h.engine) if t.id == task_id)


def readiness(h: Harness, name: str) -> str | None:
    rid = h.job_id(name)
    return next((j.readiness for j in queries.list_jobs(h.engine) if str(j.id) == rid), None)


def wait_not_ready(h: Harness, name: str, kind: str) -> str:
    h.wait_for(lambda: kind in (readiness(h, name) or ""), 60, f"replica {name} to report the API {kind}")
    return readiness(h, name) or ""


def readyz(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def assert_no_try_burned(h: Harness, task_id: int) -> None:
    t = only_task(h, task_id)
    assert (t.state, t.try_number, t.attempts) == ("queued", 0, ()), t


def assert_quiet(h: Harness, name: str, seconds: float) -> None:
    text = (h.tmp / f"{name}.log").read_text()
    assert "Traceback" not in text, text[-3000:]
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) <= 12, f"{len(lines)} log lines in {seconds:.0f}s:\n" + "\n".join(lines[-20:])


def pod_creates(h: Harness) -> list[dict[str, Any]]:
    return [r for r in h.audit() if r["verb"] == "create" and r["resource"] == "pods"]


def test_wrong_token_burns_no_try_says_why_and_recovers_when_the_kubeconfig_is_fixed(h: Harness) -> None:
    h.start_cluster()
    good = h.kubeconfig.read_text()
    doc = yaml.safe_load(good)
    doc["users"][0]["user"]["token"] = "not-the-token"
    bad = h.tmp / "replica-kubeconfig"
    bad.write_text(yaml.safe_dump(doc))
    [task_id] = h.submit([task("t")])
    port = free_port()
    started = time.monotonic()
    h.start_replica("a", args=["--metrics-port", str(port)], kubeconfig=bad)
    reason = wait_not_ready(h, "a", "unauthorized")
    time.sleep(4)  # many loops with a free slot and a queued task
    assert_no_try_burned(h, task_id)
    assert not [r for r in pod_creates(h) if r["code"] == 201]
    code, body = readyz(port)
    assert code == 503 and "unauthorized" in body, body
    assert "401" in reason
    status = subprocess.run(
        [*PODHERD, "status", "--json", "--db", h.db_url], capture_output=True, text=True, timeout=60, check=True
    )
    [replica] = [r for r in json.loads(status.stdout)["replicas"] if r["state"] == "running"]
    assert replica["ready"] is False and "unauthorized" in replica["not_ready_reason"]
    assert_quiet(h, "a", time.monotonic() - started)

    bad.write_text(good)  # the operator fixes the credentials: no restart
    h.wait_for(lambda: only_task(h, task_id).state == "success", 60, "the task to run once the token works")
    assert only_task(h, task_id).try_number == 1
    h.wait_for(lambda: readyz(port)[0] == 200, 30, "/readyz to recover")
    h.wait_for(lambda: readiness(h, "a") == "", 30, "status to show the replica ready")


def test_closed_port_burns_no_try_and_recovers_when_the_api_server_starts(h: Harness) -> None:
    port = free_port()
    h.kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "whatever"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    [task_id] = h.submit([task("t")])
    started = time.monotonic()
    h.start_replica("a")
    wait_not_ready(h, "a", "connect")
    time.sleep(4)
    assert_no_try_burned(h, task_id)
    assert_quiet(h, "a", time.monotonic() - started)
    h.start_cluster(port=port)  # writes the kubeconfig the replica reads: its CA and token
    h.wait_for(lambda: only_task(h, task_id).state == "success", 60, "the task to run once the API is up")
    assert only_task(h, task_id).try_number == 1


def test_new_ca_and_token_are_picked_up_without_a_restart(h: Harness) -> None:
    port = free_port()
    h.start_cluster(port=port)
    [first] = h.submit([task("before")])
    h.start_replica("a")
    h.wait_for(lambda: only_task(h, first).state == "success", 60, "the first task")
    h.stop_cluster()
    wait_not_ready(h, "a", "connect")
    [second] = h.submit([task("during")])
    time.sleep(2)
    assert_no_try_burned(h, second)
    h.start_cluster(port=port)  # a new CA and a new token, same address
    h.wait_for(lambda: only_task(h, second).state == "success", 90, "the task after the API server came back")
    assert only_task(h, second).try_number == 1
    assert "Traceback" not in (h.tmp / "a.log").read_text()


def test_rbac_forbidden_create_burns_no_try(h: Harness) -> None:
    h.cluster_args = ("--fault", "forbid=create/pods")
    h.start_cluster()
    [task_id] = h.submit([task("t", tries=2)])
    h.start_replica("a")
    reason = wait_not_ready(h, "a", "forbidden")
    assert 'cannot create resource "pods"' in reason
    time.sleep(4)
    t = only_task(h, task_id)
    assert (t.state, t.try_number, t.attempts) in (("queued", 0, ()), ("running", 1, t.attempts)), t
    assert all(a.state not in ("failed", "success") for a in t.attempts)
    refused = [r for r in pod_creates(h) if r["code"] == 403]
    assert refused and not [r for r in pod_creates(h) if r["code"] == 201]
    h.set_faults({"forbid": []})  # the operator grants the permission
    h.wait_for(lambda: only_task(h, task_id).state == "success", 90, "the task once creates are allowed")
    assert only_task(h, task_id).try_number == 1
    assert "Traceback" not in (h.tmp / "a.log").read_text()
