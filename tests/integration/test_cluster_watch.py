"""Watch semantics through the official client: RV resume, bookmarks, selector transitions, 410 recovery."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from podherd.localcluster.apiserver.server import LocalCluster, http_pool
from tests.integration.conftest import pod_manifest, wait_for


def raw_watch(cluster: LocalCluster, path: str, seconds: float) -> list[dict[str, Any]]:
    """Read a watch stream for `seconds` (timeoutSeconds ends it) and return its events."""
    http = http_pool(cluster)
    sep = "&" if "?" in path else "?"
    r = http.request(
        "GET",
        f"{cluster.url}{path}{sep}watch=true&timeoutSeconds={int(seconds)}",
        headers={"Authorization": f"Bearer {cluster.token}"},
        preload_content=False,
    )
    assert r.status == 200
    data = r.read()
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def test_watch_from_list_rv_sees_changes_in_order(cluster: LocalCluster, core: client.CoreV1Api, ns: str) -> None:
    rv = core.list_namespaced_pod(ns).metadata.resource_version
    core.create_namespaced_pod(ns, pod_manifest("w1", command=["sleep", "30"], labels={"a": "1"}))
    core.patch_namespaced_pod("w1", ns, {"metadata": {"labels": {"a": "2"}}})
    core.delete_namespaced_pod("w1", ns, grace_period_seconds=0)
    events = raw_watch(cluster, f"/api/v1/namespaces/{ns}/pods?resourceVersion={rv}", 1)
    mine = [(e["type"], e["object"]["metadata"].get("labels", {}).get("a")) for e in events]
    assert mine[0] == ("ADDED", "1")
    assert ("MODIFIED", "2") in mine
    assert mine[-1][0] == "DELETED"
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and all(r > int(rv) for r in rvs)
    assert all(e["object"]["kind"] == "Pod" and e["object"]["apiVersion"] == "v1" for e in events)


def test_watch_without_rv_starts_with_synthetic_added(cluster: LocalCluster, core: client.CoreV1Api, ns: str) -> None:
    for i in range(3):
        core.create_namespaced_pod(ns, pod_manifest(f"s{i}", command=["sleep", "30"]))
    events = raw_watch(cluster, f"/api/v1/namespaces/{ns}/pods", 1)
    added = [e["object"]["metadata"]["name"] for e in events if e["type"] == "ADDED"]
    assert added[:3] == ["s0", "s1", "s2"]
    core.delete_collection_namespaced_pod(ns, grace_period_seconds=0)


def _ready(pod: Any) -> bool:
    conditions = pod.status.conditions or []
    return pod.status.phase == "Running" and any(c.type == "Ready" and c.status == "True" for c in conditions)


def test_selector_transitions(cluster: LocalCluster, core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("t1", command=["sleep", "30"], labels={"owner": "5"}))
    # The kubelet writes status until the container is ready; only label writes may follow rv.
    wait_for(lambda: _ready(core.read_namespaced_pod("t1", ns)), what="t1 ready")
    rv = core.list_namespaced_pod(ns).metadata.resource_version
    core.patch_namespaced_pod("t1", ns, {"metadata": {"labels": {"owner": "7"}}})  # enters owner=7
    core.patch_namespaced_pod("t1", ns, {"metadata": {"labels": {"other": "x"}}})  # stays
    core.patch_namespaced_pod("t1", ns, {"metadata": {"labels": {"owner": "9"}}})  # leaves
    events = raw_watch(cluster, f"/api/v1/namespaces/{ns}/pods?labelSelector=owner%3D7&resourceVersion={rv}", 1)
    kinds = [e["type"] for e in events]
    assert kinds == ["ADDED", "MODIFIED", "DELETED"]
    left = events[-1]["object"]
    assert left["metadata"]["labels"]["owner"] == "7"  # DELETED carries the old object...
    latest = core.read_namespaced_pod("t1", ns).metadata.resource_version
    assert left["metadata"]["resourceVersion"] == latest  # ...with the new RV
    core.delete_namespaced_pod("t1", ns, grace_period_seconds=0)


def test_bookmarks_only_when_asked(cluster: LocalCluster, ns: str) -> None:
    with_bm = raw_watch(cluster, f"/api/v1/namespaces/{ns}/pods?allowWatchBookmarks=true&resourceVersion=1", 2)
    # rv=1 is older than history: the stream is a single 410 ERROR; ask from "now" instead
    assert with_bm[0]["type"] == "ERROR" and with_bm[0]["object"]["code"] == 410
    now_rv = str(cluster.store.rv)
    with_bm = raw_watch(cluster, f"/api/v1/namespaces/{ns}/pods?allowWatchBookmarks=true&resourceVersion={now_rv}", 2)
    assert [e["type"] for e in with_bm] and all(e["type"] == "BOOKMARK" for e in with_bm)
    assert with_bm[0]["object"] == {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": with_bm[0]["object"]["metadata"]["resourceVersion"]},
    }
    without = raw_watch(cluster, f"/api/v1/namespaces/{ns}/pods?resourceVersion={now_rv}", 2)
    assert not any(e["type"] == "BOOKMARK" for e in without)


def test_python_watch_with_bookmarks_and_timeout(cluster: LocalCluster, core: client.CoreV1Api, ns: str) -> None:
    rv = core.list_namespaced_pod(ns).metadata.resource_version

    def later() -> None:
        time.sleep(0.3)
        core.create_namespaced_pod(ns, pod_manifest("pw", command=["sleep", "30"]))

    threading.Thread(target=later).start()
    seen = []
    w = watch.Watch()
    for ev in w.stream(
        core.list_namespaced_pod, ns, resource_version=rv, allow_watch_bookmarks=True, timeout_seconds=2
    ):
        seen.append(ev["type"])
        if ev["type"] == "ADDED":
            w.stop()
    assert "ADDED" in seen
    core.delete_namespaced_pod("pw", ns, grace_period_seconds=0)


def test_410_after_compaction_and_recovery_by_relist(cluster: LocalCluster, core: client.CoreV1Api, ns: str) -> None:
    old_rv = core.list_namespaced_pod(ns).metadata.resource_version
    core.create_namespaced_pod(ns, pod_manifest("c1", command=["sleep", "30"]))
    cluster.call(cluster.store.compact)
    events = raw_watch(cluster, f"/api/v1/namespaces/{ns}/pods?resourceVersion={old_rv}", 1)
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    st = events[0]["object"]
    assert st["kind"] == "Status" and st["code"] == 410 and st["reason"] == "Expired"
    assert st["message"].startswith(f"too old resource version: {old_rv} (")

    # The python client raises ApiException(410) from inside the stream; an informer re-lists and resumes.
    with pytest.raises(ApiException) as ei:
        for _ in watch.Watch().stream(core.list_namespaced_pod, ns, resource_version=old_rv, timeout_seconds=1):
            pass
    assert ei.value.status == 410
    relist = core.list_namespaced_pod(ns)
    assert [p.metadata.name for p in relist.items] == ["c1"]
    core.create_namespaced_pod(ns, pod_manifest("c2", command=["sleep", "30"]))
    seen = [
        (ev["type"], ev["object"].metadata.name)
        for ev in watch.Watch().stream(
            core.list_namespaced_pod, ns, resource_version=relist.metadata.resource_version, timeout_seconds=1
        )
    ]
    assert ("ADDED", "c2") in seen and ("ADDED", "c1") not in seen
    core.delete_collection_namespaced_pod(ns, grace_period_seconds=0)


def test_field_selector_watch_sees_delete(cluster: LocalCluster, core: client.CoreV1Api, ns: str) -> None:
    """What `kubectl delete` relies on: LIST + WATCH by metadata.name until DELETED."""
    core.create_namespaced_pod(ns, pod_manifest("fw", command=["sleep", "30"]))
    lst = core.list_namespaced_pod(ns, field_selector="metadata.name=fw", limit=500, resource_version="0")
    threading.Timer(0.3, lambda: core.delete_namespaced_pod("fw", ns, grace_period_seconds=0)).start()
    types = []
    for ev in watch.Watch().stream(
        core.list_namespaced_pod,
        ns,
        field_selector="metadata.name=fw",
        resource_version=lst.metadata.resource_version,
        allow_watch_bookmarks=True,
        timeout_seconds=5,
    ):
        types.append(ev["type"])
        if ev["type"] == "DELETED":
            break
    assert types[-1] == "DELETED"


def test_watch_survives_drop_fault(cluster: LocalCluster, core: client.CoreV1Api, ns: str) -> None:
    """A dropped connection ends the stream; the client resumes from the last RV and misses nothing."""
    rv = core.list_namespaced_pod(ns).metadata.resource_version
    http = http_pool(cluster)
    r = http.request(
        "GET",
        f"{cluster.url}/api/v1/namespaces/{ns}/pods?watch=true&resourceVersion={rv}",
        headers={"Authorization": f"Bearer {cluster.token}"},
        preload_content=False,
    )
    core.create_namespaced_pod(ns, pod_manifest("d1", command=["sleep", "30"]))
    first = json.loads(r.readline() if hasattr(r, "readline") else next(r.stream()))
    last_rv = first["object"]["metadata"]["resourceVersion"]
    dropped = cluster.call(cluster.handlers.drop_watches)
    assert dropped >= 1
    core.create_namespaced_pod(ns, pod_manifest("d2", command=["sleep", "30"]))
    resumed = raw_watch(cluster, f"/api/v1/namespaces/{ns}/pods?resourceVersion={last_rv}", 1)
    assert "d2" in [e["object"]["metadata"]["name"] for e in resumed if e["type"] == "ADDED"]
    core.delete_collection_namespaced_pod(ns, grace_period_seconds=0)
