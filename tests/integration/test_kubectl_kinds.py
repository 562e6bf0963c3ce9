"""The real kubectl with ConfigMaps, Secrets, ServiceAccounts and the Node: create -f, get's columns, describe."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from kubernetes import client

from podherd.localcluster.apiserver.server import LocalCluster
from tests.integration.conftest import wait_for
from tests.integration.kubectl_cli import kubectl, needs_kubectl, table_rows

pytestmark = [pytest.mark.kubectl, needs_kubectl]

MANIFESTS = """
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast, "app.properties": "a=1"}
binaryData: {blob: AAEC}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
type: kubernetes.io/basic-auth
stringData: {username: admin, password: hunter2}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: runner}
"""


def test_create_get_and_describe_config_maps_secrets_and_accounts(
    cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path
) -> None:
    f = tmp_path / "kinds.yaml"
    f.write_text(MANIFESTS)
    out = kubectl(cluster, tmp_path, "-n", ns, "create", "-f", str(f))
    assert out.split() == [
        "configmap/settings",
        "created",
        "secret/creds",
        "created",
        "serviceaccount/runner",
        "created",
    ]
    head, rows = table_rows(kubectl(cluster, tmp_path, "-n", ns, "get", "configmaps"))
    assert head == ["NAME", "DATA", "AGE"] and rows["settings"][1] == "3"
    head, rows = table_rows(kubectl(cluster, tmp_path, "-n", ns, "get", "secrets"))
    assert head == ["NAME", "TYPE", "DATA", "AGE"] and rows["creds"][1:3] == ["kubernetes.io/basic-auth", "2"]
    head, rows = table_rows(kubectl(cluster, tmp_path, "-n", ns, "get", "sa"))
    assert head == ["NAME", "SECRETS", "AGE"] and set(rows) == {"default", "runner"} and rows["default"][1] == "0"
    password = kubectl(cluster, tmp_path, "-n", ns, "get", "secret", "creds", "-o", "jsonpath={.data.password}")
    assert base64.b64decode(password) == b"hunter2"
    desc = kubectl(cluster, tmp_path, "-n", ns, "describe", "configmap", "settings")
    assert "mode:" in desc and "fast" in desc and "blob: 3 bytes" in desc
    kubectl(cluster, tmp_path, "-n", ns, "apply", "-f", str(f))  # a second apply merges, no conflict
    out = kubectl(cluster, tmp_path, "-n", ns, "delete", "configmap/settings", "secret/creds")
    assert 'configmap "settings" deleted' in out and 'secret "creds" deleted' in out
    assert [c.metadata.name for c in core.list_namespaced_config_map(ns).items] == []


def test_get_and_describe_nodes(cluster: LocalCluster, tmp_path: Path) -> None:
    head, rows = table_rows(kubectl(cluster, tmp_path, "get", "nodes"))
    assert head == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert rows["local"][1:3] == ["Ready", "<none>"] and rows["local"][4].startswith("v1.32.")
    head, rows = table_rows(kubectl(cluster, tmp_path, "get", "nodes", "-o", "wide"))
    assert head[5:] == ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    assert rows["local"][5:7] == ["127.0.0.1", "<none>"]
    desc = kubectl(cluster, tmp_path, "describe", "node", "local")
    for line in ("kubernetes.io/hostname=local", "InternalIP:  127.0.0.1", "Hostname:    local", "KubeletReady"):
        assert line in desc
    assert "Capacity:" in desc and "Allocatable:" in desc and "Operating System:           linux" in desc


def test_a_pod_whose_selector_the_node_lacks_shows_pending_with_the_schedulers_event(
    cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path
) -> None:
    pod = """
apiVersion: v1
kind: Pod
metadata: {name: elsewhere}
spec:
  nodeSelector: {kubernetes.io/hostname: some-other-node}
  containers: [{name: main, image: busybox:1.36, command: ["true"]}]
"""
    kubectl(cluster, tmp_path, "-n", ns, "apply", "-f", "-", stdin=pod)
    wait_for(lambda: core.read_namespaced_pod("elsewhere", ns).status.conditions, what="PodScheduled condition")
    _, rows = table_rows(kubectl(cluster, tmp_path, "-n", ns, "get", "pods"))
    assert rows["elsewhere"][2] == "Pending"
    desc = kubectl(cluster, tmp_path, "-n", ns, "describe", "pod", "elsewhere")
    assert "FailedScheduling" in desc and "default-scheduler" in desc
    assert "didn't match Pod's node affinity/selector" in desc


ENV_PODS = """
apiVersion: v1
kind: ConfigMap
metadata: {name: app-settings}
data: {MODE: batch, greeting.txt: hello from a volume}
---
apiVersion: v1
kind: Secret
metadata: {name: app-secret}
stringData: {TOKEN: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: configured}
spec:
  restartPolicy: Never
  volumes: [{name: settings, configMap: {name: app-settings, items: [{key: greeting.txt, path: greeting.txt}]}}]
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "echo $MODE $TOKEN $FROM_CM; cat \\"$1\\"", "sh", "$(PODHERD_MOUNT_SETTINGS)/greeting.txt"]
    envFrom: [{secretRef: {name: app-secret}}]
    env:
    - {name: MODE, valueFrom: {configMapKeyRef: {name: app-settings, key: MODE}}}
    - {name: FROM_CM, value: "mode=$(MODE)"}
    volumeMounts: [{name: settings, mountPath: /etc/settings}]
"""


def test_a_pod_whose_env_and_files_come_from_a_config_map_and_a_secret(
    cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path
) -> None:
    kubectl(cluster, tmp_path, "-n", ns, "apply", "-f", "-", stdin=ENV_PODS)
    wait_for(lambda: core.read_namespaced_pod("configured", ns).status.phase == "Succeeded", what="pod Succeeded")
    assert kubectl(cluster, tmp_path, "-n", ns, "logs", "configured") == "batch s3cret mode=batch\nhello from a volume"


def test_kubectl_create_generators_for_config_maps_and_secrets(
    cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path
) -> None:
    """`kubectl create configmap|secret` build the object themselves and send it in protobuf."""
    out = kubectl(cluster, tmp_path, "-n", ns, "create", "configmap", "gen", "--from-literal=mode=fast")
    assert out.strip() == "configmap/gen created"
    assert core.read_namespaced_config_map("gen", ns).data == {"mode": "fast"}
    out = kubectl(cluster, tmp_path, "-n", ns, "create", "secret", "generic", "gens", "--from-literal=password=s3")
    assert out.strip() == "secret/gens created"
    secret = core.read_namespaced_secret("gens", ns)
    assert base64.b64decode(secret.data["password"]) == b"s3" and secret.type == "Opaque"
