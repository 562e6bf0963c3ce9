"""The owner's leftover sweep and the bounded finished-set: pure, no server."""

from __future__ import annotations

from typing import Any

import pytest

from podherd.core.executor.leftovers import LeftoverSweep
from podherd.core.executor.recent import RecentSet


def pod(name: str, phase: str, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": f"uid-{name}"}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-05T00:00:00Z"
    return {"metadata": meta, "status": {"phase": phase}}


class World:
    def __init__(self) -> None:
        self.pods: list[tuple[str, dict[str, Any]]] = []
        self.busy: set[str] = set()
        self.finished: list[str] = []

    def sweep(self) -> LeftoverSweep:
        return LeftoverSweep(
            lambda: self.pods,
            lambda _ns, name, _uid: name in self.busy,
            lambda p, _ns: self.finished.append(p["metadata"]["name"]) or True,
            period=10,
            clock=lambda: 0.0,
        )


def test_a_terminal_untracked_pod_is_finished_again_on_the_second_pass() -> None:
    w = World()
    w.pods = [("ns", pod("a", "Succeeded")), ("ns", pod("b", "Failed")), ("ns", pod("c", "Running"))]
    s = w.sweep()
    assert s.run() == 0 and w.finished == []  # first sight: maybe its DELETED event is on its way
    assert s.run() == 2 and sorted(w.finished) == ["a", "b"]
    assert s.run() == 2  # still there (the cleanup failed again): retried every period
    assert s.stats.retried == 4


def test_tracked_pods_pods_in_cleanup_and_pods_being_deleted_are_left_alone() -> None:
    w = World()
    w.pods = [("ns", pod("a", "Succeeded")), ("ns", pod("b", "Succeeded", deleting=True))]
    w.busy = {"a"}
    s = w.sweep()
    s.run()
    assert s.run() == 0 and w.finished == []


def test_a_pod_must_be_a_leftover_in_two_consecutive_passes() -> None:
    w = World()
    w.pods = [("ns", pod("a", "Succeeded"))]
    s = w.sweep()
    s.run()
    w.busy = {"a"}  # a cleanup picked it up in between
    s.run()
    w.busy = set()
    assert s.run() == 0  # seen again, but not in the pass before: wait one more
    assert s.run() == 1


def test_maybe_run_honours_the_period() -> None:
    now = [0.0]
    s = LeftoverSweep(lambda: [], lambda *_: False, lambda *_: True, period=10, clock=lambda: now[0])
    assert s.maybe_run() == 0 and s.stats.passes == 0
    now[0] = 10.0
    s.maybe_run()
    assert s.stats.passes == 1


def test_recent_set_forgets_the_oldest_beyond_its_bound() -> None:
    r = RecentSet(3)
    for k in "abcd":
        r.add(k)
    assert "a" not in r and all(k in r for k in "bcd") and len(r) == 3
    r.add("b")  # re-adding refreshes it
    r.add("e")
    assert "c" not in r and "b" in r
    with pytest.raises(ValueError):
        RecentSet(0)
