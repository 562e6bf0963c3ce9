"""Pure builders for the pod status the local kubelet writes (API.md §10), from its container records.

No I/O and no clock: every timestamp is passed in. The shapes and rules follow
the real kubelet so that clients (podherd's own status classifier, kubectl,
anything written against a real cluster) see what they would see there:

* :class:`Container` is what the kubelet knows of one container; its transitions
  are the runtime's (waiting, running, terminated, back-off into lastState);
* :func:`terminate_pod` is the status manager's ``TerminatePod``: waiting
  containers of a pod that is being torn down get ``ContainerStatusUnknown``
  and a Pending/Running phase becomes Failed;
* keys are emitted in the Go structs' field order (PodStatus, ContainerStatus,
  ContainerState*), with the same omissions (``exitCode`` never).

The phase and the conditions are read back from the container status JSON in
:mod:`status.phase`, whose container-state names this module uses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from podherd.localcluster.kubelet.status.phase import FAILED, RUNNING, TERMINAL_PHASES, TERMINATED, WAITING
from podherd.localcluster.validation.imageref import parse_image_reference

CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"
CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
INVALID_IMAGE_NAME = "InvalidImageName"
START_ERROR = "StartError"
STATUS_UNKNOWN = "ContainerStatusUnknown"
STATUS_UNKNOWN_MESSAGE = "The container could not be located when the pod was terminated"

DEADLINE_EXCEEDED = "DeadlineExceeded"
DEADLINE_EXCEEDED_MESSAGE = "Pod was active on the node longer than the specified deadline"


@dataclass(slots=True, eq=False)
class Container:
    """What the kubelet knows about one container (init or regular) of a pod: its current instance."""

    name: str
    image: str
    init: bool = False
    state: str = WAITING
    reason: str = CONTAINER_CREATING  # waiting or terminated reason
    message: str = ""
    exit_code: int = 0
    started_at: str = ""  # running/terminated startedAt ("" = unset, serialised as null)
    finished_at: str = ""
    container_id: str = ""  # "containerd://<64 hex>" once the runtime created the instance
    restart_count: int = 0
    last_terminated: dict[str, Any] | None = None  # lastState.terminated
    image_id: str = ""  # imageID: the image the runtime created the current (or last) instance from

    # ---- transitions (all pure: callers pass timestamps and ids) --------------------------------
    def set_waiting(self, reason: str, message: str = "") -> None:
        self.state, self.reason, self.message = WAITING, reason, message
        self.exit_code = 0

    def set_running(self, started_at: str, container_id: str) -> None:
        self.state, self.reason, self.message = RUNNING, "", ""
        self.started_at, self.finished_at, self.container_id = started_at, "", container_id
        self.exit_code = 0
        self.image_id = image_id(self.image)

    def set_terminated(self, exit_code: int, reason: str, finished_at: str, message: str = "") -> None:
        """Record an exit. `reason` is Completed/Error for a normal exit (see `exit_reason`)."""
        self.state, self.exit_code, self.reason, self.message = TERMINATED, exit_code, reason, message
        self.finished_at = finished_at
        if not self.started_at:
            self.started_at = finished_at

    def back_off(self, reason: str, message: str) -> None:
        """A terminated instance is going to be restarted: it becomes lastState, restartCount+1."""
        if self.state == TERMINATED:
            self.last_terminated = terminated_state(self)
        self.restart_count += 1
        self.set_waiting(reason, message)
        self.started_at = ""
        self.container_id = ""


def image_id(image: str) -> str:
    """The imageID a runtime reports: the repository and a digest, ``docker.io/library/busybox@sha256:<64 hex>``.

    Images are not pulled, so there is no real digest: a pinned one is kept, else one is derived from
    the normalised reference, so a different image (or tag) has a different imageID, as it would."""
    ref = parse_image_reference(image)
    if ref is None:
        return ""
    if ref.digest:
        return f"{ref.name}@{ref.digest}"
    return f"{ref.name}@sha256:{hashlib.sha256(str(ref).encode()).hexdigest()}"


def exit_reason(exit_code: int) -> str:
    """containerd: exit 0 is Completed, anything else (including death by signal) is Error."""
    return "Completed" if exit_code == 0 else "Error"


def signal_exit_code(returncode: int) -> int:
    """A process killed by signal N reports 128+N, as a container runtime does (`asyncio` gives -N)."""
    return 128 - returncode if returncode < 0 else returncode


def go_duration(seconds: float) -> str:
    """Format whole seconds like Go's time.Duration.String() (10s, 1m20s, 5m0s)."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s}s"
    h, m = divmod(m, 60)
    return f"{h}h{m}m{s}s"


def crash_loop_message(seconds: float, container: str, pod: str, namespace: str, uid: str) -> str:
    return f"back-off {go_duration(seconds)} restarting failed container={container} pod={pod}_{namespace}({uid})"


def invalid_image_message(image: str) -> str:
    return (
        f'Failed to apply default image tag "{image}": couldn\'t parse image name "{image}": invalid reference format'
    )


# ---- container status ---------------------------------------------------------------------------
def terminated_state(c: Container) -> dict[str, Any]:
    out: dict[str, Any] = {"exitCode": c.exit_code}
    if c.reason:
        out["reason"] = c.reason
    if c.message:
        out["message"] = c.message
    out["startedAt"] = c.started_at or None
    out["finishedAt"] = c.finished_at or None
    if c.container_id:
        out["containerID"] = c.container_id
    return out


def container_state(c: Container) -> dict[str, Any]:
    if c.state == RUNNING:
        return {"running": {"startedAt": c.started_at or None}}
    if c.state == TERMINATED:
        return {"terminated": terminated_state(c)}
    waiting: dict[str, Any] = {}
    if c.reason:
        waiting["reason"] = c.reason
    if c.message:
        waiting["message"] = c.message
    return {"waiting": waiting}


def container_ready(c: Container) -> bool:
    """Regular containers (no probes) are ready while running; init containers once they exited 0."""
    if c.init:
        return c.state == TERMINATED and c.exit_code == 0
    return c.state == RUNNING


def container_status(c: Container) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": c.name,
        "state": container_state(c),
        "lastState": {"terminated": dict(c.last_terminated)} if c.last_terminated else {},
        "ready": container_ready(c),
        "restartCount": c.restart_count,
        "image": c.image,
        "imageID": c.image_id,
    }
    if c.container_id:
        out["containerID"] = c.container_id
    out["started"] = c.state == RUNNING
    return out


# ---- pod status ---------------------------------------------------------------------------------
def pod_status(
    *,
    phase: str,
    conditions: list[dict[str, Any]],
    host_ip: str,
    pod_ip: str,
    start_time: str,
    init_statuses: list[dict[str, Any]],
    statuses: list[dict[str, Any]],
    qos_class: str | None,
    reason: str = "",
    message: str = "",
    has_init: bool = False,
) -> dict[str, Any]:
    """A PodStatus with its keys in the Go struct's order."""
    out: dict[str, Any] = {"phase": phase, "conditions": conditions}
    if message:
        out["message"] = message
    if reason:
        out["reason"] = reason
    if host_ip:
        out["hostIP"] = host_ip
        out["hostIPs"] = [{"ip": host_ip}]
    if pod_ip:
        out["podIP"] = pod_ip
        out["podIPs"] = [{"ip": pod_ip}]
    if start_time:
        out["startTime"] = start_time
    if has_init:
        out["initContainerStatuses"] = init_statuses
    out["containerStatuses"] = statuses
    if qos_class:
        out["qosClass"] = qos_class
    return out


# ---- termination (status_manager.go TerminatePod) -----------------------------------------------
def has_pod_initialized(init: Sequence[Container], main: Sequence[Container]) -> bool:
    if not init:
        return True
    for c in main:
        if c.last_terminated is not None or c.state != WAITING:
            return True
    last = init[-1]
    if last.last_terminated is not None and last.last_terminated.get("exitCode") == 0:
        return True
    return last.state == TERMINATED and last.exit_code == 0


def _attempted_prefix(init: Sequence[Container]) -> Sequence[Container]:
    """initializedContainers: all but the suffix still waiting with no earlier run (at least the first)."""
    for i in range(len(init) - 1, -1, -1):
        if init[i].state != WAITING or init[i].last_terminated is not None:
            return init[: i + 1]
    return init[:1]


def terminate_pod(init: Sequence[Container], main: Sequence[Container]) -> None:
    """Give every container of a pod being torn down a terminal state (mutates the records).

    Once the pod has initialized, any container that is not terminated is marked
    ContainerStatusUnknown/137; of the init containers, those that ever tried to start.
    """
    victims: list[Container] = []
    if has_pod_initialized(init, main):
        victims += [c for c in main if c.state != TERMINATED]
    victims += [c for c in _attempted_prefix(init) if c.state != TERMINATED]
    for c in victims:
        c.state, c.exit_code, c.reason, c.message = TERMINATED, 137, STATUS_UNKNOWN, STATUS_UNKNOWN_MESSAGE
        c.started_at = c.finished_at = c.container_id = ""


def terminal_phase(phase: str) -> str:
    """A torn-down pod that is still Pending/Running is Failed (TerminatePod)."""
    return phase if phase in TERMINAL_PHASES else FAILED


# ---- defensive checks ------------------------------------------------------------------------------
def was_started(pod: dict[str, Any]) -> bool:
    """Does the stored status show a container that ran (so a fresh kubelet cannot pick it up)?"""
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses"):
        for s in status.get(key) or []:
            if not isinstance(s, dict):
                continue
            state = s.get("state") or {}
            if "running" in state or "terminated" in state or (s.get("lastState") or {}).get("terminated"):
                return True
    return False


def malformed_spec(spec: Any) -> str:
    """Defensive checks (validation happens at create): '' when the kubelet can run the pod."""
    if not isinstance(spec, dict):
        return "spec is not an object"
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        return "spec.containers must be a non-empty list"
    init = spec.get("initContainers")
    if init is not None and not isinstance(init, list):
        return "spec.initContainers must be a list"
    names: set[str] = set()
    for path, items in (("spec.initContainers", init or []), ("spec.containers", containers)):
        for i, c in enumerate(items):
            if not isinstance(c, dict):
                return f"{path}[{i}] is not an object"
            name = c.get("name")
            if not isinstance(name, str) or not name:
                return f"{path}[{i}].name is required"
            if name in names:
                return f"{path}[{i}].name {name!r} is duplicated"
            names.add(name)
            for f in ("command", "args"):
                v = c.get(f)
                if v is not None and (not isinstance(v, list) or not all(isinstance(x, str) for x in v)):
                    return f"{path}[{i}].{f} must be a list of strings"
            if c.get("env") is not None and not isinstance(c.get("env"), list):
                return f"{path}[{i}].env must be a list"
            wd = c.get("workingDir")
            if wd is not None and not isinstance(wd, str):
                return f"{path}[{i}].workingDir must be a string"
    policy = spec.get("restartPolicy")
    if policy is not None and policy not in ("Always", "OnFailure", "Never"):
        return f"spec.restartPolicy {policy!r} is not one of Always, OnFailure, Never"
    return ""
