"""as=Table and PartialObjectMetadata renderings (API.md §9, kubectl printers.go)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from podherd.localcluster.apimachinery.errors import ApiError
from podherd.localcluster.apiserver.tables import (
    human_duration,
    partial_metadata_list,
    pod_status_text,
    table,
    to_partial_metadata,
)

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def ts(ago: timedelta) -> str:
    return (NOW - ago).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_pod(
    statuses: list[dict[str, Any]] | None = None,
    phase: str = "Pending",
    init: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    **status: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    if init is not None:
        spec["initContainers"] = init
    st: dict[str, Any] = {"phase": phase, **status}
    if statuses is not None:
        st["containerStatuses"] = statuses
    if init_statuses is not None:
        st["initContainerStatuses"] = init_statuses
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u", "creationTimestamp": ts(timedelta(minutes=5))},
        "spec": spec,
        "status": st,
    }


def cs(state: dict[str, Any], ready: bool = False, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {"name": "c", "state": state, "ready": ready, "restartCount": restarts, **extra}


def status_of(pod: dict[str, Any]) -> str:
    return pod_status_text(pod)[2]


def row(pod: dict[str, Any]) -> list[Any]:
    return table("pods", [pod], {"resourceVersion": "9"}, NOW)["rows"][0]["cells"]


# ---- HumanDuration -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1.5, "0s"),
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (9 * 60 + 59, "9m59s"),
        (10 * 60 + 30, "10m"),
        (61 * 60, "61m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 2 * 60, "3h2m"),
        (8 * 3600 + 59 * 60, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (50 * 3600, "2d2h"),
        (8 * 86400, "8d"),
        (729 * 86400, "729d"),
        (730 * 86400, "2y"),
        (731 * 86400, "2y1d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(timedelta(seconds=seconds)) == text


# ---- pod STATUS column -----------------------------------------------------------------------------------

RUNNING = {"running": {"startedAt": "2025-01-01T11:56:00Z"}}


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        (make_pod(), "Pending"),
        (make_pod([cs({"waiting": {"reason": "ContainerCreating"}})]), "ContainerCreating"),
        (make_pod([cs(RUNNING, ready=True)], "Running"), "Running"),
        (make_pod([cs({"terminated": {"exitCode": 0, "reason": "Completed"}})], "Succeeded"), "Completed"),
        (make_pod([cs({"terminated": {"exitCode": 3, "reason": "Error"}})], "Failed"), "Error"),
        (make_pod([cs({"terminated": {"exitCode": 137, "reason": "OOMKilled"}})], "Failed"), "OOMKilled"),
        (make_pod([cs({"terminated": {"exitCode": 3}})], "Failed"), "ExitCode:3"),
        (make_pod([cs({"terminated": {"exitCode": 143, "signal": 15}})], "Failed"), "Signal:15"),
        (make_pod([cs({"waiting": {"reason": "ErrImagePull", "message": "pull failed"}})]), "ErrImagePull"),
        (make_pod([cs({"waiting": {"reason": "ImagePullBackOff"}})]), "ImagePullBackOff"),
        (make_pod([cs({"waiting": {"reason": "CrashLoopBackOff"}}, restarts=1)], "Running"), "CrashLoopBackOff"),
        (make_pod(phase="Failed", reason="Evicted"), "Evicted"),
    ],
)
def test_pod_status(pod: dict[str, Any], expected: str) -> None:
    assert status_of(pod) == expected


INIT = [{"name": "i", "image": "busybox"}]


@pytest.mark.parametrize(
    ("init_status", "expected"),
    [
        (cs({"waiting": {"reason": "PodInitializing"}}, name="i"), "Init:0/1"),
        (cs({"running": {}}, name="i"), "Init:0/1"),
        (cs({"waiting": {"reason": "ErrImagePull"}}, name="i"), "Init:ErrImagePull"),
        (cs({"terminated": {"exitCode": 1, "reason": "Error"}}, name="i"), "Init:Error"),
        (cs({"terminated": {"exitCode": 3}}, name="i"), "Init:ExitCode:3"),
        (cs({"terminated": {"exitCode": 137, "signal": 9}}, name="i"), "Init:Signal:9"),
    ],
)
def test_init_container_status(init_status: dict[str, Any], expected: str) -> None:
    waiting_main = [cs({"waiting": {"reason": "PodInitializing"}})]
    pod = make_pod(waiting_main, init=INIT, init_statuses=[init_status])
    assert status_of(pod) == expected


def test_init_done_shows_main_containers() -> None:
    done = cs({"terminated": {"exitCode": 0, "reason": "Completed"}}, name="i")
    pod = make_pod([cs(RUNNING, ready=True)], "Running", init=INIT, init_statuses=[done])
    assert status_of(pod) == "Running"
    two = [*INIT, {"name": "j", "image": "busybox"}]
    second = cs({"running": {}}, name="j")
    assert status_of(make_pod([], init=two, init_statuses=[done, second])) == "Init:1/2"


def test_terminating_unless_terminal() -> None:
    pod = make_pod([cs(RUNNING, ready=True)], "Running")
    pod["metadata"]["deletionTimestamp"] = ts(timedelta(seconds=-30))
    assert status_of(pod) == "Terminating"
    done = make_pod([cs({"terminated": {"exitCode": 0, "reason": "Completed"}})], "Succeeded")
    done["metadata"]["deletionTimestamp"] = ts(timedelta(seconds=-30))
    assert status_of(done) == "Completed"
    lost = make_pod([cs(RUNNING, ready=True)], "Running", reason="NodeLost")
    lost["metadata"]["deletionTimestamp"] = ts(timedelta(seconds=-30))
    assert status_of(lost) == "Unknown"


def test_completed_with_a_running_sidecar_is_running_or_not_ready() -> None:
    pod = make_pod(
        [cs({"terminated": {"exitCode": 0, "reason": "Completed"}}), cs(RUNNING, ready=True, name="d")], "Running"
    )
    pod["spec"]["containers"].append({"name": "d", "image": "busybox"})
    assert status_of(pod) == "NotReady"
    pod["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    assert status_of(pod) == "Running"


def test_scheduling_gated() -> None:
    pod = make_pod(conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}])
    assert status_of(pod) == "SchedulingGated"


def test_ready_and_restarts_cells() -> None:
    finished = ts(timedelta(minutes=5))
    restarted = cs(RUNNING, ready=True, restarts=2, lastState={"terminated": {"exitCode": 1, "finishedAt": finished}})
    pod = make_pod([restarted], "Running", podIPs=[{"ip": "10.0.0.7"}], podIP="10.0.0.7")
    pod["spec"]["nodeName"] = "node1"
    assert row(pod) == ["p", "1/1", "Running", "2 (5m ago)", "5m", "10.0.0.7", "node1", "<none>", "<none>"]
    assert row(make_pod())[:5] == ["p", "0/1", "Pending", "0", "5m"]
    no_time = make_pod([cs(RUNNING, ready=True, restarts=1)], "Running")
    assert row(no_time)[3] == "1"


def test_sidecar_counts_toward_ready_total() -> None:
    init = [{"name": "side", "image": "busybox", "restartPolicy": "Always"}]
    side = cs(RUNNING, ready=True, name="side", started=True)
    pod = make_pod([cs(RUNNING, ready=True)], "Running", init=init, init_statuses=[side])
    pod["status"]["conditions"] = [{"type": "Initialized", "status": "True"}]
    assert row(pod)[1:3] == ["2/2", "Running"]


def test_readiness_gates_cell() -> None:
    pod = make_pod([cs(RUNNING, ready=True)], "Running", conditions=[{"type": "example.com/ok", "status": "True"}])
    pod["spec"]["readinessGates"] = [{"conditionType": "example.com/ok"}, {"conditionType": "example.com/b"}]
    assert row(pod)[8] == "1/2"


def test_missing_creation_timestamp_is_unknown() -> None:
    pod = make_pod()
    del pod["metadata"]["creationTimestamp"]
    assert row(pod)[4] == "<unknown>"


# ---- Table shape --------------------------------------------------------------------------------------------


def test_pod_table_shape() -> None:
    pod = make_pod([cs({"terminated": {"exitCode": 0, "reason": "Completed"}})], "Succeeded")
    t = table("pods", [pod], {"resourceVersion": "9", "continue": "tok"}, NOW)
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert t["metadata"] == {"resourceVersion": "9", "continue": "tok"}
    cols = t["columnDefinitions"]
    assert [c["name"] for c in cols] == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
        "IP",
        "Node",
        "Nominated Node",
        "Readiness Gates",
    ]
    assert [c["priority"] for c in cols] == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert list(cols[0]) == ["name", "type", "format", "description", "priority"]
    assert cols[0]["format"] == "name" and cols[1]["format"] == ""
    r = t["rows"][0]
    assert list(r) == ["cells", "conditions", "object"]
    assert r["conditions"] == [
        {"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}
    ]
    assert r["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": pod["metadata"]}


def test_include_object_modes() -> None:
    pod = make_pod()
    full = table("pods", [pod], {}, NOW, "Object")["rows"][0]["object"]
    assert full["kind"] == "Pod" and full["apiVersion"] == "v1" and full["spec"] == pod["spec"]
    assert table("pods", [pod], {}, NOW, "None")["rows"][0] == {"cells": row(pod), "object": None}
    with pytest.raises(ApiError) as ei:
        table("pods", [], {}, NOW, "Everything")
    assert ei.value.code == 400 and ei.value.message == 'unrecognized includeObject value: "Everything"'
    assert table("pods", [], {"resourceVersion": "1"}, NOW)["rows"] == []


def test_namespace_lease_and_default_tables() -> None:
    created = ts(timedelta(hours=3))
    ns = {"metadata": {"name": "team", "creationTimestamp": created}, "status": {"phase": "Active"}}
    t = table("namespaces", [ns], {}, NOW)
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert t["rows"][0]["cells"] == ["team", "Active", "3h"]
    lease = {
        "metadata": {"name": "lock", "namespace": "ns", "creationTimestamp": created},
        "spec": {"holderIdentity": "a"},
    }
    t = table("leases", [lease], {}, NOW)
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Holder", "Age"]
    assert t["rows"][0]["cells"] == ["lock", "a", "3h"]
    assert table("leases", [{"metadata": {"name": "l"}}], {}, NOW)["rows"][0]["cells"] == ["l", "", "<unknown>"]
    widget = {"metadata": {"name": "w", "creationTimestamp": created}}  # a kind with no printer
    t = table("widgets", [widget], {}, NOW)
    assert [(c["name"], c["type"]) for c in t["columnDefinitions"]] == [("Name", "string"), ("Created At", "date")]
    assert t["rows"][0]["cells"] == ["w", created]


def test_config_map_secret_and_service_account_tables() -> None:
    created = "2025-01-01T09:00:00Z"
    cm = {"metadata": {"name": "cfg", "creationTimestamp": created}, "data": {"a": "1"}, "binaryData": {"b": "AA=="}}
    t = table("configmaps", [cm], {}, NOW)
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert t["rows"][0]["cells"] == ["cfg", 2, "3h"]
    secret = {"metadata": {"name": "s", "creationTimestamp": created}, "type": "Opaque", "data": {"k": "dg=="}}
    t = table("secrets", [secret], {}, NOW)
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Type", "Data", "Age"]
    assert t["rows"][0]["cells"] == ["s", "Opaque", 1, "3h"]
    sa = {"metadata": {"name": "default", "creationTimestamp": created}}
    t = table("serviceaccounts", [sa], {}, NOW)
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Secrets", "Age"]
    assert t["rows"][0]["cells"] == ["default", 0, "3h"]


def test_node_table() -> None:
    node = {
        "metadata": {
            "name": "local",
            "creationTimestamp": "2025-01-01T09:00:00Z",
            "labels": {
                "node-role.kubernetes.io/worker": "",
                "kubernetes.io/role": "edge",
                "node-role.kubernetes.io/": "",
            },
        },
        "spec": {"unschedulable": True},
        "status": {
            "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
            "addresses": [{"type": "Hostname", "address": "local"}, {"type": "InternalIP", "address": "127.0.0.1"}],
            "nodeInfo": {
                "kubeletVersion": "v1.32.0",
                "osImage": "Debian",
                "kernelVersion": "6.1",
                "containerRuntimeVersion": "",
            },
        },
    }
    t = table("nodes", [node], {}, NOW)
    names = [(c["name"], c["priority"]) for c in t["columnDefinitions"]]
    assert names[:5] == [("Name", 0), ("Status", 0), ("Roles", 0), ("Age", 0), ("Version", 0)]
    assert [n for n, p in names if p == 1] == [
        "Internal-IP",
        "External-IP",
        "OS-Image",
        "Kernel-Version",
        "Container-Runtime",
    ]
    assert t["rows"][0]["cells"] == [
        "local",
        "Ready,SchedulingDisabled",
        "edge,worker",
        "3h",
        "v1.32.0",
        "127.0.0.1",
        "<none>",
        "Debian",
        "6.1",
        "<unknown>",
    ]
    bare = table(
        "nodes",
        [{"metadata": {"name": "n"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}],
        {},
        NOW,
    )
    assert bare["rows"][0]["cells"][1:3] == ["NotReady", "<none>"]
    assert table("nodes", [{"metadata": {"name": "n"}}], {}, NOW)["rows"][0]["cells"][1] == "Unknown"


def test_event_table() -> None:
    ev = {
        "metadata": {"name": "p.17", "namespace": "ns"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "ns", "fieldPath": "spec.containers{c}"},
        "reason": "Started",
        "message": "Started container c\n",
        "source": {"component": "kubelet", "host": "node1"},
        "firstTimestamp": ts(timedelta(minutes=10)),
        "lastTimestamp": ts(timedelta(seconds=30)),
        "count": 2,
        "type": "Normal",
        "eventTime": None,
    }
    t = table("events", [ev], {}, NOW)
    names = [c["name"] for c in t["columnDefinitions"] if c["priority"] == 0]
    assert names == ["Last Seen", "Type", "Reason", "Object", "Message"]
    assert t["rows"][0]["cells"] == [
        "30s",
        "Normal",
        "Started",
        "pod/p",
        "spec.containers{c}",
        "kubelet, node1",
        "Started container c",
        "10m",
        2,
        "p.17",
    ]
    new_style = {
        "metadata": {"name": "e"},
        "involvedObject": {"kind": "Node"},
        "eventTime": "2025-01-01T11:59:00.000000Z",
        "reportingComponent": "ctl",
    }
    cells = table("events", [new_style], {}, NOW)["rows"][0]["cells"]
    assert cells[0] == "60s" and cells[3] == "node" and cells[5] == "ctl" and cells[7] == "60s" and cells[8] == 1


# ---- PartialObjectMetadata ----------------------------------------------------------------------------------


def test_partial_metadata() -> None:
    pod = make_pod()
    p = to_partial_metadata(pod, "v1", "Pod")
    assert p == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": pod["metadata"]}
    p["metadata"]["name"] = "changed"
    assert pod["metadata"]["name"] == "p"  # a copy, not a view of the stored object
    lst = partial_metadata_list([pod, pod], {"resourceVersion": "3"})
    assert lst["kind"] == "PartialObjectMetadataList" and lst["apiVersion"] == "meta.k8s.io/v1"
    assert lst["metadata"] == {"resourceVersion": "3"}
    assert [i["kind"] for i in lst["items"]] == ["PartialObjectMetadata"] * 2
    assert partial_metadata_list([], {})["items"] == []
