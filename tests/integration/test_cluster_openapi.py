"""/openapi/v3 against a real cluster: kubectl explain, kubectl's field validation, handler3's caching rules."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from kubernetes import client

from podherd.localcluster.apiserver.server import LocalCluster, http_pool
from tests.integration.kubectl_cli import KUBECTL, kubectl, needs_kubectl
from tests.integration.test_kubectl import POD_YAML

pytestmark = [pytest.mark.kubectl, needs_kubectl]


def test_kubectl_explain_pod(cluster: LocalCluster, tmp_path: Path) -> None:
    out = kubectl(cluster, tmp_path, "explain", "pod")
    assert out.startswith("KIND:       Pod\nVERSION:    v1\n\nDESCRIPTION:\n    Pod is a collection of containers")
    fields = re.findall(r"^  (\w+)\t<(\S+)>", out, re.M)
    assert fields == [
        ("apiVersion", "string"),
        ("kind", "string"),
        ("metadata", "ObjectMeta"),
        ("spec", "PodSpec"),
        ("status", "PodStatus"),
    ]


def test_kubectl_explain_pod_spec_containers(cluster: LocalCluster, tmp_path: Path) -> None:
    out = kubectl(cluster, tmp_path, "explain", "pod.spec.containers")
    assert "FIELD: containers <[]Container>" in out
    assert "A single application container that you want to run within a pod." in out
    assert re.search(r"^  name\t<string> -required-$", out, re.M)
    assert re.search(r"^  livenessProbe\t<Probe>$", out, re.M) and re.search(
        r"^  ports\t<\[\]ContainerPort>$", out, re.M
    )
    enum = kubectl(cluster, tmp_path, "explain", "pod.spec.containers.imagePullPolicy")
    assert "ENUM:\n    Always\n    IfNotPresent\n    Never\n" in enum


def test_kubectl_explain_lease_and_a_missing_field(cluster: LocalCluster, tmp_path: Path) -> None:
    out = kubectl(cluster, tmp_path, "explain", "lease")
    assert out.startswith("GROUP:      coordination.k8s.io\nKIND:       Lease\nVERSION:    v1\n")
    assert re.search(r"^  spec\t<LeaseSpec>$", out, re.M)
    spec = kubectl(cluster, tmp_path, "explain", "lease.spec.renewTime")
    assert "FIELD: renewTime <string>" in spec  # MicroTime is a string (date-time) schema
    assert KUBECTL is not None
    argv = [
        KUBECTL,
        "--kubeconfig",
        str(cluster.config.kubeconfig),
        "--cache-dir",
        str(tmp_path / "kc2"),
        "explain",
        "pod.spec.nope",
    ]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and 'field "nope" does not exist' in p.stderr


def test_create_and_apply_with_default_validation_go_server_side(
    cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path
) -> None:
    f = tmp_path / "v.yaml"
    f.write_text(POD_YAML.format(name="validated", owner="1", sleep=0))
    assert KUBECTL is not None
    argv = [
        KUBECTL,
        "--kubeconfig",
        str(cluster.config.kubeconfig),
        "--cache-dir",
        str(tmp_path / "kc"),
        "-n",
        ns,
        "--v=6",
        "create",
        "-f",
        str(f),
    ]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "pod/validated created" in p.stdout
    assert re.search(r"GET https://\S+/openapi/v3/api/v1\?hash=[0-9A-F]{128}\S* 200 OK", p.stderr)
    assert re.search(r"POST https://\S+/pods\?fieldManager=kubectl-create&fieldValidation=Strict 201 Created", p.stderr)
    assert "pod/validated" in kubectl(cluster, tmp_path, "-n", ns, "apply", "-f", str(f))
    assert core.read_namespaced_pod("validated", ns).metadata.name == "validated"


def test_index_hash_redirect_and_immutable_caching(cluster: LocalCluster) -> None:
    pool = http_pool(cluster)
    auth = {"Authorization": f"Bearer {cluster.token}"}
    index = pool.request("GET", cluster.url + "/openapi/v3", headers=auth)
    urls = {k: v["serverRelativeURL"] for k, v in json.loads(index.data)["paths"].items()}
    assert set(urls) == {"api/v1", "apis/coordination.k8s.io/v1", "apis/authorization.k8s.io/v1"}
    doc = pool.request("GET", cluster.url + urls["apis/coordination.k8s.io/v1"], headers=auth)
    assert doc.status == 200 and doc.headers["Cache-Control"] == "public, immutable"
    body = json.loads(doc.data)
    assert body["openapi"] == "3.0.0" and "io.k8s.api.coordination.v1.Lease" in body["components"]["schemas"]
    stale = pool.request("GET", cluster.url + "/openapi/v3/api/v1?hash=0", headers=auth, redirect=False)
    assert stale.status == 301 and stale.headers["Location"] == urls["api/v1"]
    post = pool.request("POST", cluster.url + "/openapi/v3/api/v1", headers=auth)
    assert post.status == 405
    assert pool.request("GET", cluster.url + "/openapi/v3/apis/apps/v1", headers=auth).status == 404
