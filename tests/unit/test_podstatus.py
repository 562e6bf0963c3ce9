"""Pod JSON -> task outcome, table-tested with pods shaped like a kubelet writes them (API.md §10)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podherd.core.podstatus import (
    FATAL_WAITING_REASONS_DEFAULT,
    LOST,
    Outcome,
    _pod_outcome,
    deleted_outcome,
    pod_outcome,
    timeout_outcome,
)

T0 = "2025-01-01T00:00:00Z"
T1 = "2025-01-01T00:00:05Z"


def waiting(reason: str, message: str = "") -> dict[str, Any]:
    w: dict[str, Any] = {"reason": reason}
    if message:
        w["message"] = message
    return {"waiting": w}


def running() -> dict[str, Any]:
    return {"running": {"startedAt": T0}}


def terminated(code: int, reason: str, message: str = "") -> dict[str, Any]:
    t: dict[str, Any] = {
        "exitCode": code,
        "reason": reason,
        "startedAt": T0,
        "finishedAt": T1,
        "containerID": "containerd://abc",
    }
    if message:
        t["message"] = message
    return {"terminated": t}


def cs(name: str, state: dict[str, Any], image: str = "busybox") -> dict[str, Any]:
    return {
        "name": name,
        "state": state,
        "lastState": {},
        "ready": "running" in state,
        "restartCount": 0,
        "image": image,
        "imageID": "",
        "containerID": "containerd://abc",
        "started": "running" in state,
    }


def pod(
    phase: str | None,
    main: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    reason: str | None = None,
    message: str | None = None,
    deleting: bool = False,
) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": None}]}
    if phase is not None:
        status["phase"] = phase
    if reason:
        status["reason"] = reason
    if message:
        status["message"] = message
    if main is not None:
        status["containerStatuses"] = main
    if init is not None:
        status["initContainerStatuses"] = init
    meta: dict[str, Any] = {"name": "task-1-t1", "namespace": "default", "uid": "u1", "resourceVersion": "10"}
    if deleting:
        meta["deletionTimestamp"] = T1
        meta["deletionGracePeriodSeconds"] = 30
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": meta,
        "spec": {"restartPolicy": "Never", "containers": [{"name": "base", "image": "busybox"}]},
        "status": status,
    }


PULL_ERR = 'failed to pull and unpack image "docker.io/library/nope:1": not found'

CASES: list[tuple[str, dict[str, Any], Outcome]] = [
    ("scheduled, no statuses yet", pod("Pending"), Outcome("pending", pod_phase="Pending")),
    (
        "ContainerCreating",
        pod("Pending", [cs("base", waiting("ContainerCreating"))]),
        Outcome("pending", reason="ContainerCreating", pod_phase="Pending"),
    ),
    (
        "PodInitializing with init running",
        pod("Pending", [cs("base", waiting("PodInitializing"))], init=[cs("setup", running())]),
        Outcome("pending", reason="PodInitializing", pod_phase="Pending"),
    ),
    (
        "ErrImagePull",
        pod("Pending", [cs("base", waiting("ErrImagePull", PULL_ERR))]),
        Outcome("failed", reason="ErrImagePull", message=PULL_ERR, container="base", container_type="main", pod_phase="Pending"),
    ),
    (
        "ErrImagePull pull QPS exceeded is not fatal",
        pod("Pending", [cs("base", waiting("ErrImagePull", "pull QPS exceeded"))]),
        Outcome("pending", reason="ErrImagePull", message="pull QPS exceeded", pod_phase="Pending"),
    ),
    (
        "ImagePullBackOff",
        pod("Pending", [cs("base", waiting("ImagePullBackOff", 'Back-off pulling image "nope:1"'))]),
        Outcome("failed", reason="ImagePullBackOff", message='Back-off pulling image "nope:1"', container="base", container_type="main", pod_phase="Pending"),
    ),
    (
        "InvalidImageName",
        pod("Pending", [cs("base", waiting("InvalidImageName", 'Failed to apply default image tag "BAD"'))]),
        Outcome("failed", reason="InvalidImageName", message='Failed to apply default image tag "BAD"', container="base", container_type="main", pod_phase="Pending"),
    ),
    (
        "CreateContainerConfigError",
        pod("Pending", [cs("base", waiting("CreateContainerConfigError", 'secret "s" not found'))]),
        Outcome("failed", reason="CreateContainerConfigError", message='secret "s" not found', container="base", container_type="main", pod_phase="Pending"),
    ),
    (
        "CreateContainerError",
        pod("Pending", [cs("base", waiting("CreateContainerError", "context deadline exceeded"))]),
        Outcome("failed", reason="CreateContainerError", message="context deadline exceeded", container="base", container_type="main", pod_phase="Pending"),
    ),
    (
        "fatal reason on the second container (anchor only looks at [0])",
        pod("Pending", [cs("base", waiting("ContainerCreating")), cs("sidecar", waiting("ErrImagePull", PULL_ERR))]),
        Outcome("failed", reason="ErrImagePull", message=PULL_ERR, container="sidecar", container_type="main", pod_phase="Pending"),
    ),
    (
        "fatal init container",
        pod("Pending", [cs("base", waiting("PodInitializing"))], init=[cs("setup", waiting("ErrImagePull", PULL_ERR))]),
        Outcome("failed", reason="ErrImagePull", message=PULL_ERR, container="setup", container_type="init", pod_phase="Pending"),
    ),
    (
        "CrashLoopBackOff is not fatal by default",
        pod("Pending", [cs("base", waiting("CrashLoopBackOff"))]),
        Outcome("pending", reason="CrashLoopBackOff", pod_phase="Pending"),
    ),
    ("Running", pod("Running", [cs("base", running())]), Outcome("running", pod_phase="Running")),
    (
        "Running while being deleted is still running",
        pod("Running", [cs("base", running())], deleting=True),
        Outcome("running", pod_phase="Running"),
    ),
    ("Succeeded", pod("Succeeded", [cs("base", terminated(0, "Completed"))]), Outcome("success", exit_code=0, pod_phase="Succeeded")),
    (
        "Failed exit 3 Error",
        pod("Failed", [cs("base", terminated(3, "Error"))]),
        Outcome("failed", exit_code=3, reason="Error", container="base", container_type="main", pod_phase="Failed"),
    ),
    (
        "OOMKilled 137",
        pod("Failed", [cs("base", terminated(137, "OOMKilled"))]),
        Outcome("failed", exit_code=137, reason="OOMKilled", container="base", container_type="main", pod_phase="Failed"),
    ),
    (
        "SIGKILL 137 (local process, reason Error)",
        pod("Failed", [cs("base", terminated(137, "Error"))]),
        Outcome("failed", exit_code=137, reason="Error", container="base", container_type="main", pod_phase="Failed"),
    ),
    (
        "termination message is carried",
        pod("Failed", [cs("base", terminated(1, "Error", "Traceback: boom"))]),
        Outcome("failed", exit_code=1, reason="Error", message="Traceback: boom", container="base", container_type="main", pod_phase="Failed"),
    ),
    (
        "first failed main container wins over a clean one",
        pod("Failed", [cs("ok", terminated(0, "Completed")), cs("base", terminated(2, "Error")), cs("late", terminated(5, "Error"))]),
        Outcome("failed", exit_code=2, reason="Error", container="base", container_type="main", pod_phase="Failed"),
    ),
    (
        "init container failure takes precedence",
        pod(
            "Failed",
            [cs("base", terminated(9, "Error"))],
            init=[cs("fetch", terminated(0, "Completed")), cs("migrate", terminated(4, "Error", "db down"))],
        ),
        Outcome("failed", exit_code=4, reason="Error", message="db down", container="migrate", container_type="init", pod_phase="Failed"),
    ),
    (
        "clean init, failed main",
        pod("Failed", [cs("base", terminated(3, "Error"))], init=[cs("fetch", terminated(0, "Completed"))]),
        Outcome("failed", exit_code=3, reason="Error", container="base", container_type="main", pod_phase="Failed"),
    ),
    (
        "exit 0 with a non-Completed reason counts as failure",
        pod("Failed", [cs("base", terminated(0, "ContainerCannotRun", "exec format error"))]),
        Outcome("failed", exit_code=0, reason="ContainerCannotRun", message="exec format error", container="base", container_type="main", pod_phase="Failed"),
    ),
    (
        "no failed termination: the last waiting container",
        pod("Failed", [cs("a", waiting("ContainerCreating")), cs("b", waiting("ErrImagePull", PULL_ERR))]),
        Outcome("failed", reason="ErrImagePull", message=PULL_ERR, container="b", container_type="main", pod_phase="Failed"),
    ),
    (
        "Evicted: pod-level reason, no containers",
        pod("Failed", reason="Evicted", message="The node was low on resource: memory."),
        Outcome("failed", reason="Evicted", message="The node was low on resource: memory.", pod_phase="Failed", pod_reason="Evicted", pod_message="The node was low on resource: memory."),
    ),
    (
        "DeadlineExceeded with clean containers: pod level",
        pod("Failed", [cs("base", terminated(0, "Completed"))], reason="DeadlineExceeded", message="Pod was active on the node longer than the specified deadline"),
        Outcome("failed", reason="DeadlineExceeded", message="Pod was active on the node longer than the specified deadline", pod_phase="Failed", pod_reason="DeadlineExceeded", pod_message="Pod was active on the node longer than the specified deadline"),
    ),
    (
        "DeadlineExceeded with a killed container keeps both",
        pod("Failed", [cs("base", terminated(137, "Error"))], reason="DeadlineExceeded", message="too long"),
        Outcome("failed", exit_code=137, reason="Error", container="base", container_type="main", pod_phase="Failed", pod_reason="DeadlineExceeded", pod_message="too long"),
    ),
    ("Failed with nothing else", pod("Failed"), Outcome("failed", pod_phase="Failed")),
    ("Unknown phase", pod("Unknown"), Outcome("pending", pod_phase="Unknown")),
    ("missing phase", pod(None), Outcome("pending")),
    ("missing status", {"metadata": {"name": "x"}}, Outcome("pending")),
    ("status null", {"status": None}, Outcome("pending")),
    ("not a dict", [], Outcome("pending")),  # type: ignore[list-item]
    ("None", None, Outcome("pending")),  # type: ignore[list-item]
    ("containerStatuses null", {"status": {"phase": "Failed", "containerStatuses": None, "initContainerStatuses": None}}, Outcome("failed", pod_phase="Failed")),
    (
        "exitCode missing",
        {"status": {"phase": "Failed", "containerStatuses": [{"name": "base", "state": {"terminated": {"reason": "Error"}}}]}},
        Outcome("failed", reason="Error", container="base", container_type="main", pod_phase="Failed"),
    ),
    (
        "exitCode as string, junk entries skipped",
        {"status": {"phase": "Failed", "containerStatuses": ["junk", None, {"name": "base", "state": {"terminated": {"exitCode": "7", "reason": "Error"}}}]}},
        Outcome("failed", exit_code=7, reason="Error", container="base", container_type="main", pod_phase="Failed"),
    ),
    (
        "state null",
        {"status": {"phase": "Pending", "containerStatuses": [{"name": "base", "state": None}]}},
        Outcome("pending", pod_phase="Pending"),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("pod_json", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_pod_outcome(pod_json: dict[str, Any], expected: Outcome) -> None:
    assert pod_outcome(pod_json) == expected


@pytest.mark.parametrize(
    ("state", "terminal"), [("pending", False), ("running", False), ("success", True), ("failed", True)]
)
def test_terminal(state: str, terminal: bool) -> None:
    assert Outcome(state).terminal is terminal


def test_custom_fatal_reasons() -> None:
    p = pod("Pending", [cs("base", waiting("ImagePullBackOff"))])
    assert pod_outcome(p, frozenset({"ErrImagePull"})).state == "pending"
    p = pod("Pending", [cs("base", waiting("CrashLoopBackOff"))])
    assert pod_outcome(p, FATAL_WAITING_REASONS_DEFAULT | {"CrashLoopBackOff"}).state == "failed"


def test_fatal_reasons_only_apply_while_pending() -> None:
    # A Running pod with a sidecar in ImagePullBackOff is still running: the task has started.
    p = pod("Running", [cs("base", running()), cs("sidecar", waiting("ImagePullBackOff"))])
    assert pod_outcome(p).state == "running"


# -- deleted / lost / timeout -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pod_json", "expected_state", "expected_reason"),
    [
        (pod("Pending", [cs("base", waiting("ContainerCreating"))]), "failed", "pod deleted"),
        (pod("Running", [cs("base", running())], deleting=True), "failed", "pod deleted"),
        (pod(None), "failed", "pod deleted"),
        ({}, "failed", "pod deleted"),
        (pod("Succeeded", [cs("base", terminated(0, "Completed"))]), "success", ""),
        (pod("Failed", [cs("base", terminated(143, "Error"))], deleting=True), "failed", "Error"),
        (pod("Pending", [cs("base", waiting("ErrImagePull", PULL_ERR))]), "failed", "ErrImagePull"),
    ],
)
def test_deleted_outcome(pod_json: dict[str, Any], expected_state: str, expected_reason: str) -> None:
    out = deleted_outcome(pod_json)
    assert (out.state, out.reason) == (expected_state, expected_reason)
    assert out.terminal


def test_deleted_outcome_names_the_pod() -> None:
    out = deleted_outcome(pod("Running", [cs("base", running())]))
    assert "task-1-t1" in out.message and out.pod_phase == "Running"


def test_lost_and_timeout() -> None:
    assert LOST.state == "failed" and LOST.reason == "pod lost" and LOST.message and LOST.terminal
    t = timeout_outcome(90)
    assert (t.state, t.reason, t.terminal) == ("failed", "timeout", True)
    assert "90" in t.message
    assert "1.5" in timeout_outcome(1.5).message


# -- details round trip -----------------------------------------------------------------------


def test_to_details_shape_and_round_trip() -> None:
    out = pod_outcome(pod("Failed", [cs("base", terminated(137, "OOMKilled"))], reason="Evicted", message="low mem"))
    details = out.to_details()
    assert details == {
        "state": "failed",
        "pod_phase": "Failed",
        "pod_reason": "Evicted",
        "pod_message": "low mem",
        "reason": "OOMKilled",
        "message": "",
        "exit_code": 137,
        "container_name": "base",
        "container_type": "main",
    }
    assert json.loads(json.dumps(details)) == details
    assert Outcome.from_details(details) == out
    assert Outcome.from_details(LOST.to_details()) == LOST
    assert Outcome.from_details({}) == Outcome("failed")


# -- never raises -----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
state_strategy = st.fixed_dictionaries(
    {},
    optional={
        "waiting": st.fixed_dictionaries(
            {},
            optional={
                "reason": json_values | st.sampled_from(sorted(FATAL_WAITING_REASONS_DEFAULT)),
                "message": json_values,
            },
        )
        | json_values,
        "terminated": st.fixed_dictionaries(
            {}, optional={"exitCode": json_values, "reason": json_values, "message": json_values}
        )
        | json_values,
        "running": json_values,
    },
)
status_entry = (
    st.fixed_dictionaries({}, optional={"name": json_values, "state": state_strategy | json_values}) | json_values
)
odd_pods = st.fixed_dictionaries(
    {},
    optional={
        "metadata": json_values,
        "status": st.fixed_dictionaries(
            {},
            optional={
                "phase": st.sampled_from(["Pending", "Running", "Succeeded", "Failed", "Unknown", ""]) | json_values,
                "reason": json_values,
                "message": json_values,
                "containerStatuses": st.lists(status_entry, max_size=3) | json_values,
                "initContainerStatuses": st.lists(status_entry, max_size=3) | json_values,
            },
        )
        | json_values,
    },
) | json_values  # fmt: skip


@settings(max_examples=300)
@given(odd_pods)
def test_never_raises_on_odd_input(pod_json: Any) -> None:
    out = _pod_outcome(pod_json, FATAL_WAITING_REASONS_DEFAULT)  # unguarded: a bug must surface here
    assert pod_outcome(pod_json) == out
    assert out.state in {"pending", "running", "success", "failed"}
    assert isinstance(out.reason, str) and isinstance(out.message, str)
    assert out.exit_code is None or isinstance(out.exit_code, int)
    json.dumps(out.to_details())
    assert deleted_outcome(pod_json).terminal
