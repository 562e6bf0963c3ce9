"""Server-side apply against a real cluster: real kubectl (--server-side, a second manager, --force-conflicts,
client-side apply first) and the official Python client (PatchOptions errors, create by apply, Status shapes,
managedFields of Update-style writes)."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from podherd.localcluster.apiserver.server import LocalCluster
from tests.integration.kubectl_cli import KUBECTL, kubectl, needs_kubectl

APPLY = "application/apply-patch+yaml"

POD = """
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
{labels}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: {image}
    command: ["sleep", "30"]
"""


def manifest(tmp: Path, name: str, image: str = "busybox:1.36", labels: dict[str, str] | None = None) -> Path:
    f = tmp / f"{name}-{uuid.uuid4().hex[:6]}.yaml"
    rows = "\n".join(f'    {k}: "{v}"' for k, v in (labels or {"app": "ssa"}).items())
    f.write_text(POD.format(name=name, image=image, labels=rows))
    return f


def run(cluster: LocalCluster, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    argv = [KUBECTL, "--kubeconfig", str(cluster.config.kubeconfig), "--cache-dir", str(tmp / "kc"), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def managed(core: client.CoreV1Api, ns: str, name: str) -> dict[str, dict[str, Any]]:
    pod = core.read_namespaced_pod(name, ns, _preload_content=False)
    entries = json.loads(pod.data)["metadata"].get("managedFields", [])
    return {e["manager"]: e for e in entries}


@needs_kubectl
def test_kubectl_server_side_apply_twice_then_a_conflicting_manager_then_force(
    cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path
) -> None:
    first = run(cluster, tmp_path, "-n", ns, "apply", "--server-side", "-f", str(manifest(tmp_path, "ssa")), "--v=6")
    assert first.returncode == 0 and "pod/ssa serverside-applied" in first.stdout
    assert re.search(
        r"PATCH \S+/pods/ssa\?fieldManager=kubectl&fieldValidation=Strict&force=false 201 Created", first.stderr
    )
    assert "pod/ssa serverside-applied" in kubectl(
        cluster, tmp_path, "-n", ns, "apply", "--server-side", "-f", str(manifest(tmp_path, "ssa"))
    )
    entry = managed(core, ns, "ssa")["kubectl"]
    assert entry["operation"] == "Apply" and "apiVersion" in entry and entry["time"]
    assert entry["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {
            "f:containers": {'k:{"name":"main"}': {".": {}, "f:command": {}, "f:image": {}, "f:name": {}}},
            "f:restartPolicy": {},
        },
    }

    other = manifest(tmp_path, "ssa", image="busybox:1.37")
    clash = run(cluster, tmp_path, "-n", ns, "apply", "--server-side", "--field-manager=other", "-f", str(other))
    assert clash.returncode == 1
    assert (
        'error: Apply failed with 1 conflict: conflict with "kubectl": .spec.containers[name="main"].image'
        in clash.stderr
    )
    assert core.read_namespaced_pod("ssa", ns).spec.containers[0].image == "busybox:1.36"

    forced = run(
        cluster,
        tmp_path,
        "-n",
        ns,
        "apply",
        "--server-side",
        "--field-manager=other",
        "--force-conflicts",
        "-f",
        str(other),
    )
    assert forced.returncode == 0, forced.stderr
    assert core.read_namespaced_pod("ssa", ns).spec.containers[0].image == "busybox:1.37"
    entries = managed(core, ns, "ssa")
    main = 'k:{"name":"main"}'
    assert "f:image" not in entries["kubectl"]["fieldsV1"]["f:spec"]["f:containers"][main]
    assert "f:image" in entries["other"]["fieldsV1"]["f:spec"]["f:containers"][main]
    back = run(cluster, tmp_path, "-n", ns, "apply", "--server-side", "-f", str(manifest(tmp_path, "ssa")))
    assert back.returncode == 1 and 'conflict with "other": .spec.containers[name="main"].image' in back.stderr


@needs_kubectl
def test_applying_the_same_configuration_again_writes_nothing(cluster: LocalCluster, ns: str, tmp_path: Path) -> None:
    """A Lease, which no kubelet touches between the two applies."""
    f = tmp_path / "lease.yaml"
    f.write_text(
        "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: same\nspec:\n  holderIdentity: a\n"
    )
    coordination = client.CoordinationV1Api(cluster.api_client())
    kubectl(cluster, tmp_path, "-n", ns, "apply", "--server-side", "-f", str(f))
    before = coordination.read_namespaced_lease("same", ns).metadata
    kubectl(cluster, tmp_path, "-n", ns, "apply", "--server-side", "-f", str(f))
    after = coordination.read_namespaced_lease("same", ns).metadata
    assert after.resource_version == before.resource_version
    assert after.managed_fields == before.managed_fields


@needs_kubectl
def test_fields_no_longer_applied_are_removed(
    cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path
) -> None:
    kubectl(
        cluster,
        tmp_path,
        "-n",
        ns,
        "apply",
        "--server-side",
        "-f",
        str(manifest(tmp_path, "drop", labels={"a": "1", "b": "2"})),
    )
    kubectl(cluster, tmp_path, "-n", ns, "label", "pod", "drop", "c=3")  # an Update manager owns c
    kubectl(
        cluster, tmp_path, "-n", ns, "apply", "--server-side", "-f", str(manifest(tmp_path, "drop", labels={"a": "1"}))
    )
    assert core.read_namespaced_pod("drop", ns).metadata.labels == {"a": "1", "c": "3"}
    assert managed(core, ns, "drop")["kubectl-label"]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:c": {}}}}


@needs_kubectl
def test_client_side_apply_then_server_side_apply_does_not_conflict(
    cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path
) -> None:
    f = manifest(tmp_path, "csa")
    assert "pod/csa created" in kubectl(cluster, tmp_path, "-n", ns, "apply", "-f", str(f))
    assert set(managed(core, ns, "csa")) == {"kubectl-client-side-apply"}
    assert "serverside-applied" in kubectl(cluster, tmp_path, "-n", ns, "apply", "--server-side", "-f", str(f))
    # kubectl migrates the client-side manager's entry to its own (a JSON patch of metadata.managedFields,
    # which the server honours), then applies: "kubectl" ends up owning exactly its configuration.
    entries = managed(core, ns, "csa")
    assert set(entries) == {"kubectl", "kubectl-last-applied"}
    assert entries["kubectl"]["operation"] == "Apply" and "f:restartPolicy" in entries["kubectl"]["fieldsV1"]["f:spec"]
    changed = run(
        cluster,
        tmp_path,
        "-n",
        ns,
        "apply",
        "--server-side",
        "-f",
        str(manifest(tmp_path, "csa", image="busybox:1.37")),
    )
    assert changed.returncode == 0, changed.stderr  # the last-applied annotation vouches for kubectl's fields


# ---- the official Python client ---------------------------------------------------------------------


def status(e: ApiException) -> dict[str, Any]:
    return json.loads(e.body)


def pod_body(name: str, image: str = "busybox:1.36") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": image, "command": ["sleep", "30"]}],
        },
    }


def test_apply_needs_a_field_manager_and_force_is_apply_only(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as e:
        core.patch_namespaced_pod("nope", ns, pod_body("nope"), _content_type=APPLY)
    assert e.value.status == 422
    assert status(e.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        "reason": "Invalid",
        "details": {
            "group": "meta.k8s.io",
            "kind": "PatchOptions",
            "causes": [
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value: is required for apply patch",
                    "field": "fieldManager",
                }
            ],
        },
        "code": 422,
    }
    core.create_namespaced_pod(ns, pod_body("merge"))
    with pytest.raises(ApiException) as e:
        core.patch_namespaced_pod(
            "merge", ns, {"metadata": {"labels": {"a": "b"}}}, force=True, _content_type="application/merge-patch+json"
        )
    assert e.value.status == 422
    assert status(e.value)["details"]["causes"] == [
        {
            "reason": "FieldValueForbidden",
            "message": "Forbidden: may not be specified for non-apply patch",
            "field": "force",
        }
    ]


def test_apply_creates_then_conflicts_with_a_409_then_force_wins(core: client.CoreV1Api, ns: str) -> None:
    raw = core.patch_namespaced_pod_with_http_info(
        "made", ns, pod_body("made"), field_manager="ci", _content_type=APPLY
    )
    assert raw[1] == 201 and raw[0].metadata.managed_fields[0].manager == "ci"
    again = core.patch_namespaced_pod_with_http_info(
        "made", ns, pod_body("made"), field_manager="ci", _content_type=APPLY
    )
    assert again[1] == 200
    with pytest.raises(ApiException) as e:
        core.patch_namespaced_pod("made", ns, pod_body("made", "busybox:1.37"), field_manager="cd", _content_type=APPLY)
    assert e.value.status == 409
    assert status(e.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Apply failed with 1 conflict: conflict with "ci": .spec.containers[name="main"].image',
        "reason": "Conflict",
        "details": {
            "causes": [
                {
                    "reason": "FieldManagerConflict",
                    "message": 'conflict with "ci"',
                    "field": '.spec.containers[name="main"].image',
                }
            ]
        },
        "code": 409,
    }
    won = core.patch_namespaced_pod(
        "made", ns, pod_body("made", "busybox:1.37"), field_manager="cd", force=True, _content_type=APPLY
    )
    assert won.spec.containers[0].image == "busybox:1.37"
    dry = core.patch_namespaced_pod("dry", ns, pod_body("dry"), field_manager="ci", dry_run="All", _content_type=APPLY)
    assert dry.metadata.name == "dry"
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod("dry", ns)
    assert e.value.status == 404


def test_update_style_writes_record_their_manager(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_body("upd"))  # no fieldManager: the User-Agent's product is the manager
    entries = managed(core, ns, "upd")
    assert list(entries) == ["OpenAPI-Generator"]
    assert entries["OpenAPI-Generator"]["operation"] == "Update"
    core.patch_namespaced_pod("upd", ns, {"metadata": {"labels": {"x": "1"}}}, field_manager="labeller")
    entries = managed(core, ns, "upd")
    assert entries["labeller"]["fieldsV1"] == {"f:metadata": {"f:labels": {".": {}, "f:x": {}}}}
    assert (
        core.patch_namespaced_pod("upd", ns, {"metadata": {"managedFields": [{}]}}).metadata.managed_fields is None
    )  # a reset
