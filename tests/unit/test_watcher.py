"""The pod watcher against a scripted in-memory API: dedupe, highest-resourceVersion resume, re-list on 410/504."""

from __future__ import annotations

from typing import Any

from kubernetes.client.exceptions import ApiException

from podherd.core.executor.watcher import PodEvent, PodWatcher
from podherd.core.kube.errors import Expired
from tests.unit.fakes import FakePods


def obj(uid: str, rv: int, phase: str = "Running") -> dict[str, Any]:
    return {"metadata": {"name": f"pod-{uid}", "uid": uid, "resourceVersion": str(rv)}, "status": {"phase": phase}}


def ev(kind: str, uid: str, rv: int) -> dict[str, Any]:
    return {"type": kind, "object": obj(uid, rv)}


def watcher(server: FakePods) -> tuple[PodWatcher, list[PodEvent]]:
    out: list[PodEvent] = []
    return PodWatcher(server.client("5"), "default", "", out.append), out


def seen(out: list[PodEvent]) -> list[tuple[str, str]]:
    return [(str(e.type), e.uid) for e in out]


def test_duplicates_are_dropped_once_seen() -> None:
    server = FakePods()
    server.streams = [
        [
            ev("ADDED", "a", 1005),
            ev("MODIFIED", "a", 1005),  # the same change again
            ev("MODIFIED", "a", 1004),  # an older one
            ev("DELETED", "b", 1006),  # a pod never known
            ev("MODIFIED", "a", 1007),
            ev("DELETED", "a", 1008),
            ev("DELETED", "a", 1008),
        ]
    ]
    w, out = watcher(server)
    w.relist()
    w.watch_once()
    assert seen(out) == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
    assert w.stats.duplicates == 4 and w.stats.events == 3


def test_the_watch_resumes_from_the_highest_resource_version_seen() -> None:
    server = FakePods()
    server.streams = [
        [
            ev("ADDED", "x", 1009),
            ev("ADDED", "y", 1007),
            {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "1012"}}},
        ],
        [ev("MODIFIED", "y", 1010)],  # below the bookmark: still delivered, the resume point stays
    ]
    w, out = watcher(server)
    w.relist()
    listed = w.rv
    w.watch_once()
    assert w.rv == "1012"
    w.watch_once()
    assert server.watch_calls == [listed, "1012"] and w.rv == "1012"
    assert seen(out)[-1] == ("MODIFIED", "y")


def test_a_relist_reports_what_changed_since_the_last_list() -> None:
    server = FakePods()
    server.add(obj("keep", 1) | {"metadata": {"name": "keep", "uid": "keep"}})
    server.add({"metadata": {"name": "gone", "uid": "gone"}, "status": {}})
    w, out = watcher(server)
    w.relist()
    assert sorted(seen(out)) == [("SYNC", "gone"), ("SYNC", "keep")]
    out.clear()
    del server.pods[("default", "gone")]
    w.relist()  # "keep" is unchanged: not sent again
    assert seen(out) == [("GONE", "gone")]
    assert w.synced.is_set() and w.stats.relists == 2


def run_until_second_watch(server: FakePods, first: list[Any]) -> PodWatcher:
    """Run the real loop: `first` is the first stream; the second one stops the watcher."""
    w, _out = watcher(server)
    server.streams = [first, [w.stop]]
    w.run()
    return w


def test_an_in_stream_410_relists_and_resumes_from_the_new_list() -> None:
    server = FakePods()
    expired = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old resource version"}}
    w = run_until_second_watch(server, [ev("ADDED", "a", 1005), expired])
    lists = [c for c in server.calls if c[1] == "list"]
    assert len(lists) == 2 and w.stats.expired == 1 and w.stats.errors == 0
    assert server.watch_calls[1] != server.watch_calls[0]  # resumed from the second list, not the old RV


def test_an_http_410_relists() -> None:
    server = FakePods()
    w = run_until_second_watch(server, [Expired("too old resource version")])
    assert len([c for c in server.calls if c[1] == "list"]) == 2 and w.stats.expired == 1


def test_a_resource_version_too_large_relists() -> None:
    server = FakePods()
    too_large = ApiException(status=504, reason="Gateway Timeout")
    too_large.body = b'{"reason":"Timeout","details":{"causes":[{"reason":"ResourceVersionTooLarge"}]}}'
    w = run_until_second_watch(server, [too_large])
    assert len([c for c in server.calls if c[1] == "list"]) == 2 and w.stats.too_large == 1


def test_other_errors_resume_the_watch_without_a_relist() -> None:
    server = FakePods()
    w, _out = watcher(server)
    server.streams = [[ev("ADDED", "a", 1005), ConnectionResetError("dropped")], [w.stop]]
    w.run()
    assert len([c for c in server.calls if c[1] == "list"]) == 1
    assert server.watch_calls[1] == "1005" and w.stats.errors == 1  # resumed where it was


def test_pods_are_kept_and_passed_on_without_managed_fields() -> None:
    server = FakePods()
    managed = [{"manager": "podherd", "operation": "Update", "fieldsV1": {"f:spec": {}}}]
    server.add({"metadata": {"name": "pod-a", "uid": "a", "managedFields": managed}, "status": {}})
    watched = ev("MODIFIED", "b", 1005)
    watched["object"]["metadata"]["managedFields"] = managed
    server.streams = [[watched]]
    w, out = watcher(server)
    w.relist()
    w.watch_once()
    assert seen(out) == [("SYNC", "a"), ("MODIFIED", "b")]
    assert all("managedFields" not in e.pod["metadata"] for e in out)
    assert all("managedFields" not in p["metadata"] for p in w.known.values()) and set(w.known) == {"a", "b"}
    assert out[0].pod["metadata"]["name"] == "pod-a" and out[1].pod["status"] == {"phase": "Running"}
