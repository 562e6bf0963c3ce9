"""DELETE of a pod whose grace period is 0 (finished, unscheduled, or asked for): Kubernetes' two writes.

The pod strategy always deletes gracefully, so the store first writes deletionTimestamp and
deletionGracePeriodSeconds: 0 (a MODIFIED event) and then removes the pod (DELETED, whose object
carries both fields). Airflow's KubernetesJobWatcher reads a DELETED event without deletionTimestamp
as "the pod left my selector" and never records the task's result, so this is checked through the
official client's own watch, as the watcher reads it.
"""

from __future__ import annotations

import threading
from typing import Any

from kubernetes import client, watch

from tests.integration.conftest import pod_manifest, wait_for


def watch_events(core: client.CoreV1Api, ns: str, name: str, rv: str) -> tuple[list[dict[str, Any]], threading.Thread]:
    """Start the official client's watch of one pod from `rv`; events arrive in the returned list until DELETED."""
    events: list[dict[str, Any]] = []

    def read() -> None:
        w = watch.Watch()
        for ev in w.stream(
            core.list_namespaced_pod,
            ns,
            field_selector=f"metadata.name={name}",
            resource_version=rv,
            timeout_seconds=10,
        ):
            events.append({"type": ev["type"], "meta": ev["object"].metadata})
            if ev["type"] == "DELETED":
                w.stop()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return events, reader


def delete_and_watch(core: client.CoreV1Api, ns: str, name: str, **kwargs: Any) -> tuple[Any, list[dict[str, Any]]]:
    rv = core.list_namespaced_pod(ns).metadata.resource_version
    events, reader = watch_events(core, ns, name, rv)
    answer = core.delete_namespaced_pod(name, ns, **kwargs)
    reader.join(timeout=15)
    return answer, events


def assert_two_writes(answer: Any, events: list[dict[str, Any]]) -> None:
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]
    marked, deleted = events[0]["meta"], events[1]["meta"]
    assert marked.deletion_timestamp is not None and marked.deletion_grace_period_seconds == 0
    assert deleted.deletion_timestamp == marked.deletion_timestamp
    assert deleted.deletion_grace_period_seconds == 0
    assert int(deleted.resource_version) > int(marked.resource_version)
    assert answer.kind == "Pod"  # pods answer with the object (ReturnDeletedObject)
    assert answer.metadata.deletion_timestamp is not None and answer.metadata.deletion_grace_period_seconds == 0


def test_deleting_a_finished_pod_marks_it_then_removes_it(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("done", command=["true"]))
    wait_for(lambda: core.read_namespaced_pod("done", ns).status.phase == "Succeeded", what="pod Succeeded")
    answer, events = delete_and_watch(core, ns, "done")  # no grace given: the spec's 30 s, forced to 0
    assert_two_writes(answer, events)


def test_deleting_an_unscheduled_pod_marks_it_then_removes_it(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("gated", schedulingGates=[{"name": "example.com/hold"}]))
    assert not core.read_namespaced_pod("gated", ns).spec.node_name
    answer, events = delete_and_watch(core, ns, "gated", grace_period_seconds=30)
    assert_two_writes(answer, events)


def test_forced_delete_of_a_running_pod_marks_it_then_removes_it(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("busy", command=["sleep", "30"]))
    wait_for(lambda: core.read_namespaced_pod("busy", ns).status.phase == "Running", what="pod Running")
    answer, events = delete_and_watch(core, ns, "busy", grace_period_seconds=0)
    assert_two_writes(answer, events)


def test_a_second_delete_without_a_grace_period_leaves_a_pending_deletion_alone(
    core: client.CoreV1Api, ns: str
) -> None:
    stubborn = ["sh", "-c", "trap '' TERM; sleep 30"]  # outlives the SIGTERM of the first delete
    core.create_namespaced_pod(ns, pod_manifest("slow", command=stubborn))
    wait_for(lambda: core.read_namespaced_pod("slow", ns).status.phase == "Running", what="pod Running")
    first = core.delete_namespaced_pod("slow", ns, grace_period_seconds=20)
    again = core.delete_namespaced_pod("slow", ns)
    assert again.metadata.resource_version == first.metadata.resource_version
    assert again.metadata.deletion_grace_period_seconds == 20
    answer, events = delete_and_watch(core, ns, "slow", grace_period_seconds=0)  # shortened to 0: removed
    assert_two_writes(answer, events)
    assert events[0]["meta"].deletion_timestamp < first.metadata.deletion_timestamp  # first request + 0 s
