"""The local kubelet's pure status builders (API.md §10): getPhase, conditions, container states."""

from __future__ import annotations

from typing import Any

import pytest

from podherd.localcluster.kubelet.status import build as ks
from podherd.localcluster.kubelet.status import phase as kp

T0 = "2025-01-01T00:00:00Z"
T1 = "2025-01-01T00:00:05Z"


def waiting(name: str, reason: str = "ContainerCreating", last_exit: int | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"name": name, "state": {"waiting": {"reason": reason}}, "lastState": {}, "ready": False}
    if last_exit is not None:
        s["lastState"] = {"terminated": {"exitCode": last_exit, "reason": "Error"}}
    return s


def running(name: str) -> dict[str, Any]:
    return {"name": name, "state": {"running": {"startedAt": T0}}, "lastState": {}, "ready": True}


def terminated(name: str, code: int, ready: bool = False) -> dict[str, Any]:
    return {"name": name, "state": {"terminated": {"exitCode": code}}, "lastState": {}, "ready": ready}


def spec(policy: str, containers: list[str], init: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"restartPolicy": policy, "containers": [{"name": n} for n in containers]}
    if init:
        out["initContainers"] = [{"name": n} for n in init]
    return out


# (id, restartPolicy, init statuses, statuses, pod_is_terminal, expected phase)
PHASE_CASES = [
    ("no-status-yet", "Never", [], [], False, "Pending"),
    ("creating", "Never", [], [waiting("a")], False, "Pending"),
    ("running", "Never", [], [running("a")], False, "Running"),
    ("one-running-one-waiting", "Never", [], [running("a"), waiting("b")], False, "Pending"),
    ("one-running-one-done", "Never", [], [running("a"), terminated("b", 0)], False, "Running"),
    ("never-exit0", "Never", [], [terminated("a", 0)], False, "Succeeded"),
    ("never-exit3", "Never", [], [terminated("a", 3)], False, "Failed"),
    ("never-mixed", "Never", [], [terminated("a", 0), terminated("b", 1)], False, "Failed"),
    ("onfailure-exit0", "OnFailure", [], [terminated("a", 0)], False, "Succeeded"),
    ("onfailure-exit1-restarting", "OnFailure", [], [terminated("a", 1)], False, "Running"),
    ("onfailure-crashloop", "OnFailure", [], [waiting("a", "CrashLoopBackOff", last_exit=1)], False, "Running"),
    ("always-exit0", "Always", [], [terminated("a", 0)], False, "Running"),
    ("always-crashloop", "Always", [], [waiting("a", "CrashLoopBackOff", last_exit=0)], False, "Running"),
    ("always-terminal-exit0", "Always", [], [terminated("a", 0)], True, "Succeeded"),
    ("always-terminal-143", "Always", [], [terminated("a", 143)], True, "Failed"),
    ("onfailure-terminal-crashloop", "OnFailure", [], [waiting("a", "CrashLoopBackOff", 1)], True, "Failed"),
    ("invalid-image", "Never", [], [waiting("a", "InvalidImageName")], False, "Pending"),
    ("init-pending", "Never", [waiting("i", "PodInitializing")], [waiting("a", "PodInitializing")], False, "Pending"),
    ("init-running", "Never", [running("i")], [waiting("a", "PodInitializing")], False, "Pending"),
    ("init-failed-never", "Never", [terminated("i", 1)], [waiting("a", "PodInitializing")], False, "Failed"),
    (
        "init-failed-onfailure",
        "OnFailure",
        [waiting("i", "CrashLoopBackOff", 1)],
        [waiting("a", "PodInitializing")],
        False,
        "Pending",
    ),
    ("init-done-main-running", "Never", [terminated("i", 0, True)], [running("a")], False, "Running"),
    ("missing-main-status", "Never", [], [terminated("a", 0)], False, "Succeeded"),
]


@pytest.mark.parametrize(
    ("policy", "init", "main", "terminal", "want"), [c[1:] for c in PHASE_CASES], ids=[c[0] for c in PHASE_CASES]
)
def test_get_phase(
    policy: str, init: list[dict[str, Any]], main: list[dict[str, Any]], terminal: bool, want: str
) -> None:
    names = [s["name"] for s in main] or ["a"]
    init_names = [s["name"] for s in init]
    assert kp.get_phase(spec(policy, names, init_names), init, main, terminal) == want


def test_get_phase_unknown_container_is_pending() -> None:
    # a container without any status keeps the pod Pending even when the others finished
    assert kp.get_phase(spec("Never", ["a", "b"]), [], [terminated("a", 0)]) == "Pending"


def test_get_phase_tolerates_junk() -> None:
    assert kp.get_phase({"containers": "nope"}, [], [None, {"name": 3}]) == "Pending"  # type: ignore[list-item]


def conds(
    phase: str,
    init: list[dict[str, Any]],
    main: list[dict[str, Any]],
    sandbox: bool = True,
    init_names: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    names = [s["name"] for s in main]
    out = kp.pod_conditions(spec("Never", names, init_names), phase, init, main, sandbox, T0)
    assert [c["type"] for c in out] == list(kp.CONDITION_ORDER)
    return {c["type"]: c for c in out}


def brief(c: dict[str, Any]) -> tuple[str, str, str]:
    return c["status"], c.get("reason", ""), c.get("message", "")


def test_conditions_pending() -> None:
    c = conds("Pending", [], [waiting("a"), waiting("b")], sandbox=False)
    assert brief(c["PodReadyToStartContainers"]) == ("False", "", "")
    assert brief(c["Initialized"]) == ("True", "", "")
    assert brief(c["Ready"]) == ("False", "ContainersNotReady", "containers with unready status: [a b]")
    assert brief(c["ContainersReady"]) == brief(c["Ready"])
    assert brief(c["PodScheduled"]) == ("True", "", "")


def test_conditions_running() -> None:
    c = conds("Running", [], [running("a")])
    assert [brief(x)[0] for x in c.values()] == ["True"] * 5


def test_conditions_succeeded_and_failed() -> None:
    c = conds("Succeeded", [], [terminated("a", 0)], sandbox=False)
    assert brief(c["Initialized"]) == ("True", "PodCompleted", "")
    assert brief(c["Ready"]) == ("False", "PodCompleted", "")
    assert brief(c["ContainersReady"]) == ("False", "PodCompleted", "")
    assert brief(c["PodReadyToStartContainers"]) == ("False", "", "")
    f = conds("Failed", [], [terminated("a", 3)], sandbox=False)
    assert brief(f["Initialized"]) == ("True", "", "")
    assert brief(f["Ready"]) == ("False", "PodFailed", "")
    assert brief(f["ContainersReady"]) == ("False", "PodFailed", "")


def test_conditions_initializing() -> None:
    c = conds(
        "Pending",
        [{**running("i1"), "ready": False}, waiting("i2", "PodInitializing")],  # running init: not ready
        [waiting("a", "PodInitializing")],
        init_names=["i1", "i2"],
    )
    assert brief(c["Initialized"]) == (
        "False",
        "ContainersNotInitialized",
        "containers with incomplete status: [i1 i2]",
    )
    done = conds(
        "Running", [terminated("i1", 0, True), terminated("i2", 0, True)], [running("a")], init_names=["i1", "i2"]
    )
    assert brief(done["Initialized"]) == ("True", "", "")


def test_conditions_keep_transition_time_while_status_unchanged() -> None:
    s = spec("Never", ["a"])
    first = {c["type"]: c for c in kp.pod_conditions(s, "Pending", [], [waiting("a")], False, T0)}
    second = kp.pod_conditions(s, "Running", [], [running("a")], True, T1, previous=first)
    by = {c["type"]: c for c in second}
    assert by["Initialized"]["lastTransitionTime"] == T0  # True both times
    assert by["Ready"]["lastTransitionTime"] == T1  # False -> True
    assert by["PodReadyToStartContainers"]["lastTransitionTime"] == T1
    assert all(c["lastProbeTime"] is None for c in second)
    assert list(second[2]) == ["type", "status", "lastProbeTime", "lastTransitionTime"]


def test_scheduled_condition_is_kept() -> None:
    sched = kp.pod_scheduled_condition(T0)
    out = kp.pod_conditions(spec("Never", ["a"]), "Running", [], [running("a")], True, T1, scheduled=sched)
    assert out[-1] == {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": T0}


# ---- container states --------------------------------------------------------------------------
def test_container_status_lifecycle() -> None:
    c = ks.Container("main", "busybox:1.36")
    assert ks.container_status(c) == {
        "name": "main",
        "state": {"waiting": {"reason": "ContainerCreating"}},
        "lastState": {},
        "ready": False,
        "restartCount": 0,
        "image": "busybox:1.36",
        "imageID": "",
        "started": False,
    }
    c.set_running(T0, "containerd://abc")
    st = ks.container_status(c)
    assert st["state"] == {"running": {"startedAt": T0}}
    assert st["imageID"] == ks.image_id("busybox:1.36") != ks.image_id("busybox:1.37")
    assert (st["ready"], st["started"], st["containerID"]) == (True, True, "containerd://abc")
    c.set_terminated(0, ks.exit_reason(0), T1)
    st = ks.container_status(c)
    assert st["state"] == {
        "terminated": {
            "exitCode": 0,
            "reason": "Completed",
            "startedAt": T0,
            "finishedAt": T1,
            "containerID": "containerd://abc",
        }
    }
    assert (st["ready"], st["started"]) == (False, False)
    assert list(st) == [
        "name",
        "state",
        "lastState",
        "ready",
        "restartCount",
        "image",
        "imageID",
        "containerID",
        "started",
    ]


def test_back_off_moves_termination_to_last_state() -> None:
    c = ks.Container("main", "img")
    c.set_running(T0, "containerd://1")
    c.set_terminated(2, "Error", T1)
    c.back_off(ks.CRASH_LOOP_BACK_OFF, ks.crash_loop_message(10, "main", "p", "ns", "u"))
    st = ks.container_status(c)
    assert st["restartCount"] == 1
    assert st["state"] == {
        "waiting": {
            "reason": "CrashLoopBackOff",
            "message": "back-off 10s restarting failed container=main pod=p_ns(u)",
        }
    }
    assert st["lastState"]["terminated"]["exitCode"] == 2
    assert st["lastState"]["terminated"]["containerID"] == "containerd://1"
    assert "containerID" not in st


def test_init_container_ready_only_after_success() -> None:
    c = ks.Container("init", "img", init=True, reason=ks.POD_INITIALIZING)
    assert ks.container_status(c)["ready"] is False
    c.set_running(T0, "containerd://1")
    assert (ks.container_status(c)["ready"], ks.container_status(c)["started"]) == (False, True)
    c.set_terminated(0, "Completed", T1)
    assert ks.container_status(c)["ready"] is True
    c.set_terminated(1, "Error", T1)
    assert ks.container_status(c)["ready"] is False


@pytest.mark.parametrize(
    ("rc", "code", "reason"), [(0, 0, "Completed"), (3, 3, "Error"), (-15, 143, "Error"), (-9, 137, "Error")]
)
def test_exit_codes(rc: int, code: int, reason: str) -> None:
    assert ks.signal_exit_code(rc) == code
    assert ks.exit_reason(code) == reason


@pytest.mark.parametrize(("secs", "text"), [(1, "1s"), (10, "10s"), (80, "1m20s"), (300, "5m0s"), (3700, "1h1m40s")])
def test_go_duration(secs: float, text: str) -> None:
    assert ks.go_duration(secs) == text


def test_invalid_image_message() -> None:
    assert ks.invalid_image_message("Bad Image") == (
        'Failed to apply default image tag "Bad Image": couldn\'t parse image name "Bad Image": invalid reference format'
    )


# ---- TerminatePod ----------------------------------------------------------------------------------
def test_terminate_pod_marks_waiting_containers_unknown() -> None:
    a = ks.Container("a", "img")
    a.set_running(T0, "containerd://1")
    a.set_terminated(143, "Error", T1)
    b = ks.Container("b", "img")
    b.set_running(T0, "containerd://2")
    b.set_terminated(1, "Error", T1)
    b.back_off(ks.CRASH_LOOP_BACK_OFF, "x")
    ks.terminate_pod([], [a, b])
    assert (a.exit_code, a.reason) == (143, "Error")
    st = ks.container_status(b)["state"]["terminated"]
    assert st == {
        "exitCode": 137,
        "reason": "ContainerStatusUnknown",
        "message": "The container could not be located when the pod was terminated",
        "startedAt": None,
        "finishedAt": None,
    }


def test_terminate_pod_before_initialization_leaves_main_waiting() -> None:
    i1 = ks.Container("i1", "img", init=True, reason=ks.POD_INITIALIZING)
    i1.set_running(T0, "containerd://1")
    i1.set_terminated(143, "Error", T1)
    i2 = ks.Container("i2", "img", init=True, reason=ks.POD_INITIALIZING)
    main = ks.Container("a", "img", reason=ks.POD_INITIALIZING)
    ks.terminate_pod([i1, i2], [main])
    assert main.state == ks.WAITING and i2.state == ks.WAITING  # never attempted: left alone
    assert (i1.exit_code, i1.reason) == (143, "Error")
    s = spec("Never", ["a"], ["i1", "i2"])
    phase = kp.get_phase(s, [ks.container_status(i1), ks.container_status(i2)], [ks.container_status(main)], True)
    assert phase == "Failed"


@pytest.mark.parametrize(
    ("phase", "want"), [("Pending", "Failed"), ("Running", "Failed"), ("Succeeded", "Succeeded"), ("Failed", "Failed")]
)
def test_terminal_phase(phase: str, want: str) -> None:
    assert ks.terminal_phase(phase) == want


def test_pod_status_key_order_and_omissions() -> None:
    out = ks.pod_status(
        phase="Pending",
        conditions=[],
        host_ip="127.0.0.1",
        pod_ip="",
        start_time=T0,
        init_statuses=[],
        statuses=[],
        qos_class="BestEffort",
    )
    assert list(out) == ["phase", "conditions", "hostIP", "hostIPs", "startTime", "containerStatuses", "qosClass"]
    full = ks.pod_status(
        phase="Failed",
        conditions=[],
        host_ip="127.0.0.1",
        pod_ip="127.0.0.1",
        start_time=T0,
        init_statuses=[],
        statuses=[],
        qos_class=None,
        reason="DeadlineExceeded",
        message="m",
        has_init=True,
    )
    assert list(full) == [
        "phase",
        "conditions",
        "message",
        "reason",
        "hostIP",
        "hostIPs",
        "podIP",
        "podIPs",
        "startTime",
        "initContainerStatuses",
        "containerStatuses",
    ]
    assert full["podIPs"] == [{"ip": "127.0.0.1"}]


# ---- defensive checks --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"containers": [{"name": "c", "command": ["true"]}]}, ""),
        ({"containers": [{"name": "c"}], "initContainers": [{"name": "i"}], "restartPolicy": "OnFailure"}, ""),
        ("junk", "spec is not an object"),
        ({}, "spec.containers must be a non-empty list"),
        ({"containers": []}, "spec.containers must be a non-empty list"),
        ({"containers": ["x"]}, "spec.containers[0] is not an object"),
        ({"containers": [{"image": "x"}]}, "spec.containers[0].name is required"),
        (
            {"containers": [{"name": "c"}], "initContainers": [{"name": "c"}]},
            "spec.containers[0].name 'c' is duplicated",
        ),
        ({"containers": [{"name": "c", "command": "true"}]}, "spec.containers[0].command must be a list of strings"),
        ({"containers": [{"name": "c", "args": [1]}]}, "spec.containers[0].args must be a list of strings"),
        ({"containers": [{"name": "c", "env": {}}]}, "spec.containers[0].env must be a list"),
        ({"containers": [{"name": "c", "workingDir": 3}]}, "spec.containers[0].workingDir must be a string"),
        ({"containers": [{"name": "c"}], "restartPolicy": "Sometimes"}, "spec.restartPolicy 'Sometimes' is not one of"),
    ],
)
def test_malformed_spec(spec: Any, problem: str) -> None:
    got = ks.malformed_spec(spec)
    assert got.startswith(problem) if problem else got == ""


@pytest.mark.parametrize(
    ("status", "started"),
    [
        ({}, False),
        ({"containerStatuses": [waiting("a")]}, False),
        ({"containerStatuses": [running("a")]}, True),
        ({"initContainerStatuses": [terminated("i", 0)], "containerStatuses": [waiting("a")]}, True),
        ({"containerStatuses": [waiting("a", "CrashLoopBackOff", last_exit=1)]}, True),
        ({"containerStatuses": ["junk"]}, False),
    ],
)
def test_was_started(status: dict[str, Any], started: bool) -> None:
    assert ks.was_started({"status": status}) is started


def test_image_id() -> None:
    assert ks.image_id("busybox:1.36").startswith("docker.io/library/busybox@sha256:")
    pinned = "registry.example.com/team/app@sha256:" + "a" * 64
    assert ks.image_id(pinned) == pinned
    assert ks.image_id("Not Valid") == ""
