"""The real `kubectl` binary against the local cluster, unchanged."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from kubernetes import client

from podherd.localcluster.apiserver.server import LocalCluster
from tests.integration.conftest import wait_for
from tests.integration.kubectl_cli import KUBECTL, kubectl, needs_kubectl

pytestmark = [pytest.mark.kubectl, needs_kubectl]


POD_YAML = """
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
    owner: "{owner}"
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "echo hello from {name}; sleep {sleep}"]
"""


def test_kubectl_round_trip(cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path) -> None:
    for name, owner in (("a", "5"), ("b", "7"), ("c", "11")):
        f = tmp_path / f"{name}.yaml"
        f.write_text(POD_YAML.format(name=name, owner=owner, sleep=0))
        verb = "apply" if name != "c" else "create"
        out = kubectl(cluster, tmp_path, "-n", ns, verb, "-f", str(f))
        assert f"pod/{name}" in out

    wait_for(
        lambda: all(p.status.phase == "Succeeded" for p in core.list_namespaced_pod(ns).items),
        what="all pods Succeeded",
    )
    table = kubectl(cluster, tmp_path, "-n", ns, "get", "pods")
    lines = table.strip().splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == {"a", "b", "c"}
    assert rows["a"][1:4] == ["0/1", "Completed", "0"]

    sel = kubectl(cluster, tmp_path, "-n", ns, "get", "pods", "-l", "owner notin (5,7)", "-o", "name")
    assert sel.split() == ["pod/c"]

    out = kubectl(cluster, tmp_path, "-n", ns, "label", "pod", "a", "done=true")
    assert "pod/a labeled" in out
    assert core.read_namespaced_pod("a", ns).metadata.labels["done"] == "true"

    assert kubectl(cluster, tmp_path, "-n", ns, "logs", "b") == "hello from b\n"

    desc = kubectl(cluster, tmp_path, "-n", ns, "describe", "pod", "a")
    assert "Name:" in desc and "owner=5" in desc and "Events:" in desc and "Started" in desc

    out = kubectl(cluster, tmp_path, "-n", ns, "delete", "pod", "a", timeout=60)
    assert 'pod "a" deleted' in out
    assert [p.metadata.name for p in core.list_namespaced_pod(ns).items] == ["b", "c"]


def test_kubectl_apply_twice_updates(cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(POD_YAML.format(name="ap", owner="1", sleep=30))
    kubectl(cluster, tmp_path, "-n", ns, "apply", "-f", str(f))
    f.write_text(POD_YAML.format(name="ap", owner="2", sleep=30))
    out = kubectl(cluster, tmp_path, "-n", ns, "apply", "-f", str(f))
    assert "pod/ap configured" in out
    assert core.read_namespaced_pod("ap", ns).metadata.labels["owner"] == "2"
    kubectl(cluster, tmp_path, "-n", ns, "delete", "pod", "ap", "--grace-period=0", "--force")


def test_kubectl_get_watch(cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path) -> None:
    assert KUBECTL is not None
    kc = cluster.config.kubeconfig
    argv = [
        KUBECTL,
        "--kubeconfig",
        str(kc),
        "--cache-dir",
        str(tmp_path / "kc"),
        "-n",
        ns,
        "get",
        "pods",
        "-w",
        "--request-timeout=0",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        f = tmp_path / "w.yaml"
        f.write_text(POD_YAML.format(name="watched", owner="3", sleep=0))
        kubectl(cluster, tmp_path, "-n", ns, "create", "-f", str(f))
        wait_for(lambda: core.read_namespaced_pod("watched", ns).status.phase == "Succeeded", what="Succeeded")
        time.sleep(0.5)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    lines = [line.split() for line in out.strip().splitlines()]
    assert lines[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], (out, err)
    statuses = [row[2] for row in lines[1:] if row[0] == "watched"]
    assert statuses and statuses[-1] == "Completed", out
    assert "<unknown>" not in out
