"""The local cluster through the official `kubernetes` client: CRUD, lists, patches, deletes, logs, leases."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from podherd.localcluster.apiserver.server import LocalCluster, http_pool
from tests.integration.conftest import pod_manifest, wait_for


def status_of(exc: ApiException) -> dict:
    return json.loads(exc.body)


# ---- create / get -----------------------------------------------------------------------------------


def test_create_sets_server_fields_and_defaults(core: client.CoreV1Api, ns: str) -> None:
    pod = core.create_namespaced_pod(ns, pod_manifest("p1"))
    m = pod.metadata
    assert m.uid and len(m.uid) == 36
    assert int(m.resource_version) > 0
    assert m.creation_timestamp is not None
    assert m.generation == 1
    assert pod.spec.dns_policy == "ClusterFirst"
    assert pod.spec.scheduler_name == "default-scheduler"
    assert pod.spec.termination_grace_period_seconds == 30
    assert pod.spec.containers[0].image_pull_policy == "IfNotPresent"
    assert pod.status.phase == "Pending"
    assert pod.status.qos_class == "BestEffort"
    got = core.read_namespaced_pod("p1", ns)
    assert got.metadata.uid == m.uid


def test_generate_name(core: client.CoreV1Api, ns: str) -> None:
    body = pod_manifest("x")
    del body["metadata"]["name"]
    body["metadata"]["generateName"] = "job-"
    pod = core.create_namespaced_pod(ns, body)
    assert pod.metadata.name.startswith("job-") and len(pod.metadata.name) == 9
    assert set(pod.metadata.name[4:]) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_already_exists_is_409(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("dup"))
    with pytest.raises(ApiException) as ei:
        core.create_namespaced_pod(ns, pod_manifest("dup"))
    st = status_of(ei.value)
    assert ei.value.status == 409
    assert st["reason"] == "AlreadyExists"
    assert st["message"] == 'pods "dup" already exists'
    assert st["details"] == {"name": "dup", "kind": "pods"}


def test_missing_namespace_is_404(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as ei:
        core.create_namespaced_pod("nope-" + uuid.uuid4().hex[:6], pod_manifest("p"))
    st = status_of(ei.value)
    assert ei.value.status == 404
    assert st["details"]["kind"] == "namespaces"


def test_invalid_pod_is_422_with_causes(core: client.CoreV1Api, ns: str) -> None:
    body = pod_manifest("bad")
    body["spec"]["containers"][0]["name"] = ""  # the client validates types locally; the server checks values
    with pytest.raises(ApiException) as ei:
        core.create_namespaced_pod(ns, body)
    st = status_of(ei.value)
    assert ei.value.status == 422 and st["reason"] == "Invalid"
    assert st["details"]["kind"] == "Pod"
    assert {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers[0].name"} in st[
        "details"
    ]["causes"]


# ---- list / paging ----------------------------------------------------------------------------------


def test_label_and_field_selectors(core: client.CoreV1Api, ns: str) -> None:
    for i, owner in enumerate(["5", "7", "9", "11"]):
        core.create_namespaced_pod(ns, pod_manifest(f"p{i}", labels={"owner": owner, "app": "x"}))
    names = lambda sel: sorted(p.metadata.name for p in core.list_namespaced_pod(ns, label_selector=sel).items)  # noqa: E731
    assert names("owner notin (5,7,9)") == ["p3"]
    assert names("owner in (5,9)") == ["p0", "p2"]
    assert names("owner!=5,app=x") == ["p1", "p2", "p3"]
    assert names("!owner") == []
    by_name = core.list_namespaced_pod(ns, field_selector="metadata.name=p2").items
    assert [p.metadata.name for p in by_name] == ["p2"]
    with pytest.raises(ApiException) as ei:
        core.list_namespaced_pod(ns, label_selector="owner in (5")
    assert ei.value.status == 400 and status_of(ei.value)["reason"] == "BadRequest"
    with pytest.raises(ApiException) as ei:
        core.list_namespaced_pod(ns, field_selector="spec.foo=x")
    assert ei.value.status == 400
    assert status_of(ei.value)["message"] == "field label not supported: spec.foo"


def test_paged_list_is_one_snapshot(core: client.CoreV1Api, ns: str) -> None:
    for i in range(25):
        core.create_namespaced_pod(ns, pod_manifest(f"pg-{i:02d}"))
    first = core.list_namespaced_pod(ns, limit=10)
    rv = first.metadata.resource_version
    assert len(first.items) == 10 and first.metadata._continue
    assert first.metadata.remaining_item_count == 15
    core.create_namespaced_pod(ns, pod_manifest("pg-00a"))  # lands inside the next page's key range
    second = core.list_namespaced_pod(ns, limit=10, _continue=first.metadata._continue)
    third = core.list_namespaced_pod(ns, limit=10, _continue=second.metadata._continue)
    assert second.metadata.resource_version == rv == third.metadata.resource_version
    names = [p.metadata.name for p in first.items + second.items + third.items]
    assert names == [f"pg-{i:02d}" for i in range(25)]  # the snapshot excludes the later create
    assert third.metadata._continue is None


def test_bad_and_expired_continue(cluster: LocalCluster, core: client.CoreV1Api, ns: str) -> None:
    for i in range(3):
        core.create_namespaced_pod(ns, pod_manifest(f"c{i}"))
    with pytest.raises(ApiException) as ei:
        core.list_namespaced_pod(ns, limit=1, _continue="garbage!!")
    assert ei.value.status == 400
    page = core.list_namespaced_pod(ns, limit=1)
    core.create_namespaced_pod(ns, pod_manifest("c9"))
    cluster.call(cluster.store.compact)
    with pytest.raises(ApiException) as ei:
        core.list_namespaced_pod(ns, limit=1, _continue=page.metadata._continue)
    st = status_of(ei.value)
    assert ei.value.status == 410 and st["reason"] == "Expired"
    assert st["metadata"]["continue"]  # a fresh token to go on from the latest state


def test_list_in_missing_namespace_is_empty(core: client.CoreV1Api) -> None:
    assert core.list_namespaced_pod("absent-" + uuid.uuid4().hex[:6]).items == []


def test_metadata_only_list(cluster: LocalCluster, core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("m1", labels={"a": "b"}))
    http = http_pool(cluster)
    r = http.request(
        "GET",
        f"{cluster.url}/api/v1/namespaces/{ns}/pods?labelSelector=a%3Db",
        headers={
            "Authorization": f"Bearer {cluster.token}",
            "Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
        },
    )
    body = json.loads(r.data)
    assert r.status == 200
    assert body["kind"] == "PartialObjectMetadataList" and body["apiVersion"] == "meta.k8s.io/v1"
    assert [i["metadata"]["name"] for i in body["items"]] == ["m1"]
    assert "spec" not in body["items"][0] and body["items"][0]["kind"] == "PartialObjectMetadata"


def test_requests_need_the_token(cluster: LocalCluster) -> None:
    r = http_pool(cluster).request("GET", f"{cluster.url}/api/v1/namespaces/default/pods")
    body = json.loads(r.data)
    assert r.status == 401
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


# ---- patch / update ---------------------------------------------------------------------------------


def test_merge_strategic_and_json_patch(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("pp", labels={"owner": "5", "keep": "y"}))
    out = core.patch_namespaced_pod(
        "pp", ns, {"metadata": {"labels": {"owner": "7", "keep": None}}}, _content_type="application/merge-patch+json"
    )
    assert out.metadata.labels == {"owner": "7"}
    out = core.patch_namespaced_pod("pp", ns, {"metadata": {"labels": {"extra": "1"}}})  # dict → strategic merge
    assert out.metadata.labels == {"owner": "7", "extra": "1"}
    claim = [
        {"op": "test", "path": "/metadata/labels/owner", "value": "7"},
        {"op": "replace", "path": "/metadata/labels/owner", "value": "9"},
    ]
    assert core.patch_namespaced_pod("pp", ns, claim).metadata.labels["owner"] == "9"
    with pytest.raises(ApiException) as ei:
        core.patch_namespaced_pod("pp", ns, claim)  # the test op now fails: the loser of a race
    assert ei.value.status == 422
    assert status_of(ei.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "the server rejected our request due to an error in our request",
        "reason": "Invalid",
        "details": {},
        "code": 422,
    }


def test_strategic_merge_containers_by_name(core: client.CoreV1Api, ns: str) -> None:
    body = pod_manifest("smp")
    body["spec"]["containers"].append({"name": "side", "image": "busybox:1.36", "command": ["true"]})
    core.create_namespaced_pod(ns, body)
    out = core.patch_namespaced_pod("smp", ns, {"spec": {"containers": [{"name": "side", "image": "busybox:1.37"}]}})
    images = {c.name: c.image for c in out.spec.containers}
    assert images == {"main": "busybox:1.36", "side": "busybox:1.37"}


def test_resource_version_conflicts(core: client.CoreV1Api, ns: str) -> None:
    pod = core.create_namespaced_pod(ns, pod_manifest("rv", labels={"a": "1"}))
    stale = pod.metadata.resource_version
    core.patch_namespaced_pod("rv", ns, {"metadata": {"labels": {"a": "2"}}})
    with pytest.raises(ApiException) as ei:
        core.patch_namespaced_pod("rv", ns, {"metadata": {"labels": {"a": "3"}, "resourceVersion": stale}})
    st = status_of(ei.value)
    assert ei.value.status == 409 and st["reason"] == "Conflict"
    assert st["message"].endswith(
        "the object has been modified; please apply your changes to the latest version and try again"
    )
    pod.metadata.labels = {"a": "4"}
    with pytest.raises(ApiException) as ei:
        core.replace_namespaced_pod("rv", ns, pod)  # PUT with the stale RV
    assert ei.value.status == 409
    fresh = core.read_namespaced_pod("rv", ns)
    fresh.metadata.labels = {"a": "5"}
    assert core.replace_namespaced_pod("rv", ns, fresh).metadata.labels == {"a": "5"}


def test_noop_patch_does_not_bump_rv(cluster: LocalCluster, ns: str) -> None:
    coord = client.CoordinationV1Api(cluster.api_client())  # a lease: no kubelet writes in between
    lease = coord.create_namespaced_lease(ns, {"metadata": {"name": "noop", "labels": {"a": "1"}}})
    out = coord.patch_namespaced_lease("noop", ns, {"metadata": {"labels": {"a": "1"}}})
    assert out.metadata.resource_version == lease.metadata.resource_version
    out = coord.patch_namespaced_lease("noop", ns, {"metadata": {"labels": {"a": "2"}}})
    assert int(out.metadata.resource_version) > int(lease.metadata.resource_version)


def test_status_subresource(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("st", command=["sleep", "30"]))
    out = core.patch_namespaced_pod("st", ns, {"status": {"phase": "Failed"}, "metadata": {"labels": {"x": "y"}}})
    assert out.status.phase != "Failed" and out.metadata.labels == {"x": "y"}  # main resource ignores status
    out = core.patch_namespaced_pod_status("st", ns, {"status": {"message": "hello"}})
    assert out.status.message == "hello"
    core.delete_namespaced_pod("st", ns, grace_period_seconds=0)


# ---- delete -----------------------------------------------------------------------------------------


def test_immediate_delete_returns_the_pod(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("gone", command=["sleep", "30"]))
    out = core.delete_namespaced_pod("gone", ns, grace_period_seconds=0)
    assert out.metadata.name == "gone" and out.kind == "Pod"
    with pytest.raises(ApiException) as ei:
        core.read_namespaced_pod("gone", ns)
    assert ei.value.status == 404
    assert status_of(ei.value)["message"] == 'pods "gone" not found'


def test_graceful_delete_terminates_the_process(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("slow", command=["sleep", "30"]))
    wait_for(lambda: core.read_namespaced_pod("slow", ns).status.phase == "Running", what="pod Running")
    out = core.delete_namespaced_pod("slow", ns, grace_period_seconds=5)
    assert out.metadata.deletion_timestamp is not None
    assert out.metadata.deletion_grace_period_seconds == 5

    def gone() -> bool:
        try:
            core.read_namespaced_pod("slow", ns)
            return False
        except ApiException as e:
            return e.status == 404

    wait_for(gone, timeout=10, what="pod removed after SIGTERM")


def test_delete_preconditions(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("pre"))
    body = client.V1DeleteOptions(grace_period_seconds=0, preconditions=client.V1Preconditions(uid="wrong"))
    with pytest.raises(ApiException) as ei:
        core.delete_namespaced_pod("pre", ns, body=body)
    st = status_of(ei.value)
    assert ei.value.status == 409
    assert st["message"].startswith('Operation cannot be fulfilled on Pod "pre": the UID in the precondition (wrong)')
    uid = core.read_namespaced_pod("pre", ns).metadata.uid
    body = client.V1DeleteOptions(grace_period_seconds=0, preconditions=client.V1Preconditions(uid=uid))
    assert core.delete_namespaced_pod("pre", ns, body=body).metadata.uid == uid


def test_delete_collection_by_label(core: client.CoreV1Api, ns: str) -> None:
    for i in range(4):
        core.create_namespaced_pod(ns, pod_manifest(f"dc{i}", labels={"grp": "a" if i % 2 else "b"}))
    core.delete_collection_namespaced_pod(ns, label_selector="grp=a", grace_period_seconds=0)
    left = sorted(p.metadata.name for p in core.list_namespaced_pod(ns).items)
    assert left == ["dc0", "dc2"]


# ---- logs, events -----------------------------------------------------------------------------------


def test_logs_and_tail(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("lg", command=["sh", "-c", "echo one; echo two; echo three"]))
    wait_for(lambda: core.read_namespaced_pod("lg", ns).status.phase == "Succeeded", what="pod Succeeded")
    assert core.read_namespaced_pod_log("lg", ns) == "one\ntwo\nthree\n"
    assert core.read_namespaced_pod_log("lg", ns, tail_lines=1) == "three\n"
    assert core.read_namespaced_pod_log("lg", ns, container="main", tail_lines=2) == "two\nthree\n"
    with pytest.raises(ApiException) as ei:
        core.read_namespaced_pod_log("lg", ns, container="nope")
    assert ei.value.status == 400


def test_follow_logs(core: client.CoreV1Api, ns: str) -> None:
    script = "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.3)\n"
    core.create_namespaced_pod(ns, pod_manifest("fl", command=["python3", "-c", script]))
    wait_for(lambda: core.read_namespaced_pod("fl", ns).status.phase in ("Running", "Succeeded"), what="started")
    resp = core.read_namespaced_pod_log("fl", ns, follow=True, _preload_content=False)
    assert resp.data.decode() == "0\n1\n2\n"  # the stream ends when the container exits


def test_events_for_describe(core: client.CoreV1Api, ns: str) -> None:
    pod = core.create_namespaced_pod(ns, pod_manifest("ev"))
    wait_for(lambda: core.read_namespaced_pod("ev", ns).status.phase == "Succeeded", what="pod Succeeded")
    sel = f"involvedObject.uid={pod.metadata.uid},involvedObject.name=ev,involvedObject.namespace={ns}"
    reasons = {e.reason for e in core.list_namespaced_event(ns, field_selector=sel).items}
    assert {"Scheduled", "Started"} <= reasons


# ---- leases -----------------------------------------------------------------------------------------


def test_lease_crud_and_optimistic_replace(cluster: LocalCluster, ns: str) -> None:
    coord = client.CoordinationV1Api(cluster.api_client())
    body = {"metadata": {"name": "sched-1"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}
    lease = coord.create_namespaced_lease(ns, body)
    assert lease.spec.holder_identity == "a"
    lease.spec.holder_identity = "b"
    renewed = coord.replace_namespaced_lease("sched-1", ns, lease)
    assert renewed.spec.holder_identity == "b"
    lease.spec.holder_identity = "c"  # still the old resourceVersion
    with pytest.raises(ApiException) as ei:
        coord.replace_namespaced_lease("sched-1", ns, lease)
    assert ei.value.status == 409
    with pytest.raises(ApiException) as ei:
        coord.create_namespaced_lease(ns, {"metadata": {"name": "bad"}, "spec": {"leaseDurationSeconds": 0}})
    assert ei.value.status == 422
    st = coord.delete_namespaced_lease("sched-1", ns)  # the client types this answer as a plain object
    assert st["kind"] == "Status" and st["status"] == "Success"
    assert st["details"]["kind"] == "leases" and st["details"]["group"] == "coordination.k8s.io"


def test_server_keeps_serving_after_bad_input(cluster: LocalCluster, ns: str) -> None:
    http = http_pool(cluster)
    auth = {"Authorization": f"Bearer {cluster.token}", "Content-Type": "application/json"}
    base = f"{cluster.url}/api/v1/namespaces/{ns}/pods"
    cases = [
        ("POST", base, b"{not json", 400),
        ("POST", base, b'{"metadata": {"name": "x"}, "spec": {"containers": "nope"}}', 422),
        ("POST", base, b'{"metadata": {"name": "UPPER"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}', 422),
        (
            "POST",
            base,
            b'{"metadata": {"name": "lbl", "labels": {"a": "b c"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}',
            422,
        ),
        ("POST", base, b"[1, 2]", 400),
        ("GET", f"{cluster.url}/api/v1/nonsense", None, 404),
        ("GET", f"{cluster.url}/no/such/path", None, 404),
        ("GET", base + "?labelSelector=a%20in%20(", None, 400),
        ("GET", base + "?limit=1&continue=%%%", None, 400),
        ("GET", base + "?resourceVersion=abc", None, 400),
        ("GET", base + "?resourceVersionMatch=Exact", None, 422),
        ("PATCH", base + "/missing", b"{}", 415),
    ]
    for method, url, body, code in cases:
        r = http.request(method, url, body=body, headers=auth)
        assert r.status == code, (method, url, body, r.status, r.data)
        st = json.loads(r.data)
        assert st["kind"] == "Status" and st["code"] == code
    assert http.request("GET", base, headers=auth).status == 200


def test_concurrent_creates_get_unique_rvs(core: client.CoreV1Api, ns: str) -> None:
    rvs: list[int] = []
    lock = threading.Lock()

    def make(i: int) -> None:
        p = core.create_namespaced_pod(ns, pod_manifest(f"cc{i}"))
        with lock:
            rvs.append(int(p.metadata.resource_version))

    threads = [threading.Thread(target=make, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(rvs)) == 20
