"""Protobuf on the wire, against a real cluster: real kubectl both ways, and raw HTTP decoded with our codec.

kubectl's typed clients (``create namespace``, ``describe``, ``auth can-i``) send protobuf bodies and
ask for protobuf answers; the official Python client cannot, so the response side of every verb
(get, list, watch, create, update, delete, errors) is also checked with raw HTTP requests whose
answers are decoded with `apimachinery.proto`.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from podherd.localcluster.apimachinery.proto import envelope, schema
from podherd.localcluster.apiserver.server import LocalCluster, http_pool
from tests.integration.kubectl_cli import KUBECTL, kubectl, needs_kubectl

PROTOBUF = "application/vnd.kubernetes.protobuf"
S = schema.load()


def call(
    cluster: LocalCluster,
    method: str,
    path: str,
    body: bytes | None = None,
    ctype: str = PROTOBUF,
    accept: str = PROTOBUF,
) -> tuple[int, str, bytes]:
    headers = {"Authorization": f"Bearer {cluster.token}", "Content-Type": ctype, "Accept": accept}
    r = http_pool(cluster).request(method, cluster.url + path, body=body, headers=headers, preload_content=True)
    return r.status, r.headers.get("Content-Type", ""), r.data


def pb(obj: dict[str, Any]) -> bytes:
    return envelope.encode_object(S, obj)


def decoded(data: bytes) -> dict[str, Any]:
    return envelope.decode_object(S, data)


def pod(name: str) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": name, "labels": {"app": "pb"}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "30"]}],
        },
    }


# ---- real kubectl ---------------------------------------------------------------------------------------


def kubectl_v8(cluster: LocalCluster, tmp: Path, *args: str) -> tuple[int, str, str]:
    """Run kubectl with --v=8 (request and response headers logged to stderr)."""
    import subprocess

    assert KUBECTL is not None
    argv = [KUBECTL, "--kubeconfig", str(cluster.config.kubeconfig), "--cache-dir", str(tmp / "kcache"), "--v=8", *args]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def exchanges(log: str) -> list[tuple[str, str]]:
    """(path after the namespace, response Content-Type) of each request in a --v=8 log."""
    out: list[tuple[str, str]] = []
    path, answered = "", False
    for line in log.splitlines():
        request = re.search(r"\] (?:GET|POST|PUT|PATCH|DELETE) https://[^/]+(/\S*)", line)
        if request:
            path, answered = re.sub(r"^/api/v1/namespaces/[^/]+", "", request.group(1)), False
        elif "Response Status:" in line:
            answered = True
        elif answered and (ctype := re.search(r"\s+Content-Type: (\S+)", line)):
            out.append((path, ctype.group(1)))
            answered = False
    return out


@needs_kubectl
def test_kubectl_create_namespace_sends_and_reads_protobuf(
    cluster: LocalCluster, core: client.CoreV1Api, tmp_path: Path
) -> None:
    name = "pb-" + uuid.uuid4().hex[:8]
    code, out, log = kubectl_v8(cluster, tmp_path, "create", "namespace", name)
    assert code == 0, log
    assert out.strip() == f"namespace/{name} created"
    assert "Content-Type: application/vnd.kubernetes.protobuf" in log  # the request body ...
    assert re.search(r"Response Status: 201 Created", log)
    assert log.count("Content-Type: application/vnd.kubernetes.protobuf") >= 2  # ... and the answer
    ns = core.read_namespace(name)
    assert ns.status.phase == "Active" and ns.metadata.labels == {"kubernetes.io/metadata.name": name}
    assert ns.metadata.self_link is None and ns.metadata.generate_name is None  # Go's zero values were dropped
    code, _out, log = kubectl_v8(cluster, tmp_path, "create", "namespace", name)
    assert code == 1
    assert f'Error from server (AlreadyExists): namespaces "{name}" already exists' in log  # a protobuf Status, decoded
    core.delete_namespace(name)


@needs_kubectl
def test_kubectl_describe_reads_a_pod_and_its_events_in_protobuf(
    cluster: LocalCluster, core: client.CoreV1Api, ns: str, tmp_path: Path
) -> None:
    core.create_namespaced_pod(ns, pod("described"))
    code, out, log = kubectl_v8(cluster, tmp_path, "-n", ns, "describe", "pod", "described")
    assert code == 0, log
    assert re.search(r"^Name:\s+described$", out, re.M) and re.search(r"^Labels:\s+app=pb$", out, re.M)
    assert "Events:" in out
    answers = exchanges(log)
    assert ("/pods/described", PROTOBUF) in answers, answers  # the typed client's GET of the pod ...
    assert any(path.startswith("/events?") and ctype == PROTOBUF for path, ctype in answers), answers  # ... and events


@needs_kubectl
def test_kubectl_auth_can_i(cluster: LocalCluster, tmp_path: Path) -> None:
    assert kubectl(cluster, tmp_path, "auth", "can-i", "create", "pods").strip() == "yes"
    code, out, log = kubectl_v8(cluster, tmp_path, "auth", "can-i", "create", "foos")
    assert (code, out.strip()) == (0, "yes"), log  # like an admin on a real server: a warning, then yes
    assert "the server doesn't have a resource type 'foos'" in log
    assert "POST https://127.0.0.1" in log and "selfsubjectaccessreviews" in log
    admin = {"Authorization": f"Bearer {cluster.token}", "Content-Type": "application/json"}
    pool = http_pool(cluster)
    pool.request("PUT", cluster.url + "/admin/faults", body=json.dumps({"forbid": ["delete/pods"]}), headers=admin)
    try:
        code, out, _log = kubectl_v8(cluster, tmp_path, "auth", "can-i", "delete", "pods")
        assert (code, out.strip()) == (1, "no")
        assert kubectl(cluster, tmp_path, "auth", "can-i", "get", "pods").strip() == "yes"
    finally:
        pool.request("PUT", cluster.url + "/admin/faults", body=json.dumps({"forbid": []}), headers=admin)


# ---- raw HTTP, every verb -------------------------------------------------------------------------------


def test_create_get_list_update_delete_in_protobuf(cluster: LocalCluster, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    code, ctype, data = call(cluster, "POST", base, pb(pod("a")))
    assert (code, ctype) == (201, PROTOBUF)
    created = decoded(data)
    assert (created["kind"], created["metadata"]["name"], created["status"]["phase"]) == ("Pod", "a", "Pending")
    assert created["spec"]["containers"][0]["terminationMessagePath"] == "/dev/termination-log"  # defaulted

    code, ctype, data = call(cluster, "GET", f"{base}/a")
    assert (code, ctype) == (200, PROTOBUF)
    assert decoded(data)["metadata"]["uid"] == created["metadata"]["uid"]

    code, ctype, data = call(cluster, "GET", base)
    listed = decoded(data)
    assert (code, ctype, listed["kind"]) == (200, PROTOBUF, "PodList")
    assert [p["metadata"]["name"] for p in listed["items"]] == ["a"]
    assert "kind" not in listed["items"][0]  # list items carry no kind, in protobuf as in JSON

    current = decoded(call(cluster, "GET", f"{base}/a")[2])
    current["metadata"]["labels"]["v"] = "2"
    code, _ctype, data = call(cluster, "PUT", f"{base}/a", pb(current))
    assert code == 200 and decoded(data)["metadata"]["labels"] == {"app": "pb", "v": "2"}

    options = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0}
    code, _ctype, data = call(cluster, "DELETE", f"{base}/a", pb(options))
    assert code == 200 and decoded(data)["metadata"]["name"] == "a"
    code, ctype, data = call(cluster, "GET", f"{base}/a")
    status = decoded(data)
    assert (code, ctype) == (404, PROTOBUF)
    assert status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "a" not found',
        "reason": "NotFound",
        "details": {"name": "a", "kind": "pods"},
        "code": 404,
    }


def test_json_clients_still_get_json_and_protobuf_patch_bodies_are_415(cluster: LocalCluster, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    call(cluster, "POST", base, pb(pod("j")))
    code, ctype, data = call(cluster, "GET", f"{base}/j", accept="application/json, */*")
    assert (code, ctype, json.loads(data)["kind"]) == (200, "application/json", "Pod")
    code, _ctype, data = call(cluster, "PATCH", f"{base}/j", pb(pod("j")), accept="application/json")
    assert code == 415 and json.loads(data)["reason"] == "UnsupportedMediaType"
    code, _ctype, data = call(cluster, "POST", base, b"k8s\x00\x0a\x05junk", accept="application/json")
    assert code == 400 and json.loads(data)["message"].startswith("error decoding protobuf body")
    code, _ctype, data = call(cluster, "POST", base, b"{}", ctype="text/plain", accept="application/json")
    assert code == 415
    assert "application/vnd.kubernetes.protobuf" in json.loads(data)["message"]


def test_metadata_only_lists_in_protobuf(cluster: LocalCluster, ns: str) -> None:
    call(cluster, "POST", f"/api/v1/namespaces/{ns}/pods", pb(pod("m")))
    accept = f"{PROTOBUF};as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
    code, ctype, data = call(cluster, "GET", f"/api/v1/namespaces/{ns}/pods", accept=accept)
    listed = decoded(data)
    assert (code, ctype, listed["kind"], listed["apiVersion"]) == (
        200,
        PROTOBUF,
        "PartialObjectMetadataList",
        "meta.k8s.io/v1",
    )
    assert [i["metadata"]["name"] for i in listed["items"]] == ["m"] and "spec" not in listed["items"][0]


def test_watch_streams_length_prefixed_watch_events(cluster: LocalCluster, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/pods"
    created = decoded(call(cluster, "POST", base, pb(pod("w")))[2])
    rv = created["metadata"]["resourceVersion"]
    call(cluster, "DELETE", f"{base}/w", pb({"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0}))
    query = f"?watch=1&resourceVersion={int(rv) - 1}&timeoutSeconds=1&allowWatchBookmarks=true"
    code, ctype, data = call(cluster, "GET", base + query)
    assert (code, ctype) == (200, "application/vnd.kubernetes.protobuf;stream=watch")
    events = envelope.read_watch_frames(data, S)
    assert [(t, o["metadata"].get("name")) for t, o in events if t != "BOOKMARK"][:1] == [("ADDED", "w")]
    assert "DELETED" in [t for t, _o in events]
    bookmark = events[-1]
    assert bookmark[0] == "BOOKMARK" and bookmark[1]["kind"] == "Pod" and bookmark[1]["metadata"]["resourceVersion"]


def test_too_old_watch_is_an_error_frame(cluster: LocalCluster, ns: str) -> None:
    admin = {"Authorization": f"Bearer {cluster.token}"}
    http_pool(cluster).request("POST", cluster.url + "/admin/compact", headers=admin)
    code, _ctype, data = call(cluster, "GET", f"/api/v1/namespaces/{ns}/pods?watch=1&resourceVersion=1")
    [(kind, status)] = envelope.read_watch_frames(data, S)
    assert code == 200 and kind == "ERROR"
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Expired", 410)


# ---- resources not served ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/namespaces/default/services"),
        ("DELETE", "/api/v1/namespaces/default/widgets/x"),
        ("PUT", "/apis/apps/v1/namespaces/default/deployments/d"),
        ("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles"),
        ("PATCH", "/apis/coordination.k8s.io/v1/namespaces/default/leasecandidates/x"),
    ],
)
def test_any_verb_on_a_resource_not_served_is_404(cluster: LocalCluster, method: str, path: str) -> None:
    code, _ctype, data = call(cluster, method, path, b"{}", ctype="application/json", accept="application/json")
    assert code == 404
    assert json.loads(data) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "the server could not find the requested resource",
        "reason": "NotFound",
        "details": {},
        "code": 404,
    }


def test_discovery_documents_still_answer_405_to_writes(cluster: LocalCluster) -> None:
    for path in ("/api/v1", "/apis/coordination.k8s.io/v1", "/version"):
        code, _ctype, data = call(cluster, "POST", path, b"{}", ctype="application/json", accept="application/json")
        assert (code, json.loads(data)["reason"]) == (405, "MethodNotAllowed"), path


def test_self_subject_access_review(cluster: LocalCluster) -> None:
    review = {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "spec": {"resourceAttributes": {"namespace": "default", "verb": "list", "resource": "pods"}},
    }
    path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    code, _ctype, data = call(cluster, "POST", path, pb(review))
    answer = decoded(data)
    assert code == 201 and answer["status"]["allowed"] is True and answer["spec"] == review["spec"]
    code, _ctype, data = call(
        cluster,
        "POST",
        path,
        json.dumps({**review, "spec": {}}).encode(),
        ctype="application/json",
        accept="application/json",
    )
    status = json.loads(data)
    assert (code, status["reason"], status["details"]["kind"], status["details"]["group"]) == (
        422,
        "Invalid",
        "SelfSubjectAccessReview",
        "authorization.k8s.io",
    )
    assert call(cluster, "GET", path, accept="application/json")[0] == 405


def test_a_pod_written_by_a_go_client_is_stored_without_its_zero_values(cluster: LocalCluster, ns: str) -> None:
    """client-go writes every non-pointer field (selfLink "", stdin false, ...): none of them may be stored."""
    from tests.unit.test_proto_codec import with_go_zeros

    message = S.message_for("v1", "Pod")
    assert message is not None
    body = with_go_zeros(S, message, {**pod("go"), "status": {}})
    assert body["metadata"]["selfLink"] == "" and body["spec"]["containers"][0]["stdin"] is False
    code, _ctype, _data = call(cluster, "POST", f"/api/v1/namespaces/{ns}/pods", pb(body))
    assert code == 201
    stored = json.loads(call(cluster, "GET", f"/api/v1/namespaces/{ns}/pods/go", accept="application/json")[2])
    assert "selfLink" not in stored["metadata"] and "generateName" not in stored["metadata"]
    assert {"stdin", "tty", "workingDir"}.isdisjoint(stored["spec"]["containers"][0])
    assert "hostNetwork" not in stored["spec"] and stored["spec"]["terminationGracePeriodSeconds"] == 30
