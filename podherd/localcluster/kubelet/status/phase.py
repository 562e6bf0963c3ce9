"""The pod phase and conditions, derived from container status JSON as the real kubelet does (API.md §10).

Pure: no I/O, no clock (timestamps are passed in). They read the serialised
container statuses, not the kubelet's records, so the rules can be checked
against any status a real cluster shows:

* :func:`get_phase` is ``getPhase`` from ``pkg/kubelet/kubelet_pods.go``;
* :func:`pod_conditions` follows ``pkg/kubelet/status/generate.go``
  (order PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The keys of a ContainerState (and the kubelet records' state names).
WAITING = "waiting"
RUNNING = "running"
TERMINATED = "terminated"

PENDING = "Pending"
RUNNING_PHASE = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
TERMINAL_PHASES = frozenset({SUCCEEDED, FAILED})

CONDITION_ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


# ---- reading statuses ---------------------------------------------------------------------------
def _by_name(statuses: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for s in statuses:
        if isinstance(s, Mapping) and isinstance(s.get("name"), str):
            out[s["name"]] = s
    return out


def _names(containers: Any) -> list[str]:
    if not isinstance(containers, list):
        return []
    return [c["name"] for c in containers if isinstance(c, Mapping) and isinstance(c.get("name"), str)]


def _state(status: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    state = status.get("state") or {}
    for k in (RUNNING, TERMINATED, WAITING):
        v = state.get(k)
        if isinstance(v, Mapping):
            return k, v
    return "", {}


def _last_terminated(status: Mapping[str, Any]) -> Mapping[str, Any] | None:
    last = (status.get("lastState") or {}).get("terminated")
    return last if isinstance(last, Mapping) else None


def has_any_regular_container_started(spec: Mapping[str, Any], statuses: Sequence[Mapping[str, Any]]) -> bool:
    names = set(_names(spec.get("containers")))
    return any(s.get("name") in names and _state(s)[0] in (RUNNING, TERMINATED) for s in statuses)


# ---- phase (kubelet_pods.go getPhase) -----------------------------------------------------------
def _init_counts(spec: Mapping[str, Any], init_statuses: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
    """(pending, failed) init containers, as getPhase counts them."""
    by = _by_name(init_statuses)
    pending = failed = 0
    for name in _names(spec.get("initContainers")):
        s = by.get(name)
        kind, st = _state(s) if s is not None else ("", {})
        if kind == TERMINATED:
            failed += st.get("exitCode", 0) != 0
        elif kind == WAITING and s is not None and (last := _last_terminated(s)) is not None:
            failed += last.get("exitCode", 0) != 0
        else:  # no status, running, waiting for a first run, or an unknown state
            pending += 1
    return pending, failed


@dataclass(slots=True)
class _MainCounts:
    unknown: int = 0
    running: int = 0
    waiting: int = 0
    stopped: int = 0
    succeeded: int = 0


def _main_counts(spec: Mapping[str, Any], statuses: Sequence[Mapping[str, Any]]) -> _MainCounts:
    """The regular containers by state, as getPhase counts them (a restarting one counts as stopped)."""
    by = _by_name(statuses)
    n = _MainCounts()
    for name in _names(spec.get("containers")):
        s = by.get(name)
        kind, st = _state(s) if s is not None else ("", {})
        if kind == RUNNING:
            n.running += 1
        elif kind == TERMINATED:
            n.stopped += 1
            n.succeeded += st.get("exitCode", 0) == 0
        elif kind == WAITING and s is not None:
            if _last_terminated(s) is not None:
                n.stopped += 1
            else:
                n.waiting += 1
        else:
            n.unknown += 1
    return n


def get_phase(
    spec: Mapping[str, Any],
    init_statuses: Sequence[Mapping[str, Any]],
    statuses: Sequence[Mapping[str, Any]],
    pod_is_terminal: bool = False,
) -> str:
    """The pod phase from its container statuses, exactly as the kubelet's getPhase computes it."""
    policy = spec.get("restartPolicy") or "Always"
    pending_init, failed_init = _init_counts(spec, init_statuses)
    n = _main_counts(spec, statuses)
    if failed_init > 0 and policy == "Never":
        return FAILED
    all_statuses = [*statuses, *init_statuses]
    if (pending_init > 0 and not has_any_regular_container_started(spec, all_statuses)) or n.waiting > 0:
        return PENDING
    if n.running > 0 and n.unknown == 0:
        return RUNNING_PHASE
    if n.running == 0 and n.stopped > 0 and n.unknown == 0:
        if pod_is_terminal:
            return SUCCEEDED if n.stopped == n.succeeded else FAILED
        if policy == "Always":
            return RUNNING_PHASE
        if n.stopped == n.succeeded:
            return SUCCEEDED
        if policy == "Never":
            return FAILED
        return RUNNING_PHASE
    return PENDING


# ---- conditions (status/generate.go) ------------------------------------------------------------
def _go_list(names: list[str]) -> str:
    """fmt.Sprintf("%s", []string{...}): brackets, space separated."""
    return "[" + " ".join(names) + "]"


def _cond(ctype: str, status: bool, reason: str = "", message: str = "") -> dict[str, Any]:
    c: dict[str, Any] = {"type": ctype, "status": "True" if status else "False"}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def _unknown_and_unready(names: list[str], statuses: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """The named containers with no status, and those whose status is not ready (in spec order)."""
    by = _by_name(statuses)
    unknown: list[str] = []
    unready: list[str] = []
    for name in names:
        s = by.get(name)
        if s is None:
            unknown.append(name)
        elif not s.get("ready"):
            unready.append(name)
    return unknown, unready


def _not_ready_message(unknown: list[str], unready: list[str], unready_word: str) -> str:
    """generate.go's message for ContainersReady ("unready") and Initialized ("incomplete"); '' if all are ready."""
    msgs = []
    if unknown:
        msgs.append(f"containers with unknown status: {_go_list(unknown)}")
    if unready:
        msgs.append(f"containers with {unready_word} status: {_go_list(unready)}")
    return ", ".join(msgs)


def containers_ready_condition(
    spec: Mapping[str, Any], statuses: Sequence[Mapping[str, Any]], phase: str
) -> dict[str, Any]:
    unknown, unready = _unknown_and_unready(_names(spec.get("containers")), statuses)
    if phase == SUCCEEDED and not unknown:
        return _cond("ContainersReady", False, "PodCompleted")
    if phase == FAILED:
        return _cond("ContainersReady", False, "PodFailed")
    message = _not_ready_message(unknown, unready, "unready")
    if message:
        return _cond("ContainersReady", False, "ContainersNotReady", message)
    return _cond("ContainersReady", True)


def initialized_condition(
    spec: Mapping[str, Any],
    init_statuses: Sequence[Mapping[str, Any]],
    statuses: Sequence[Mapping[str, Any]],
    phase: str,
) -> dict[str, Any]:
    unknown, incomplete = _unknown_and_unready(_names(spec.get("initContainers")), init_statuses)
    if phase == SUCCEEDED and not unknown:
        return _cond("Initialized", True, "PodCompleted")
    if has_any_regular_container_started(spec, [*statuses, *init_statuses]):
        return _cond("Initialized", True)
    message = _not_ready_message(unknown, incomplete, "incomplete")
    if message:
        return _cond("Initialized", False, "ContainersNotInitialized", message)
    return _cond("Initialized", True)


def pod_conditions(
    spec: Mapping[str, Any],
    phase: str,
    init_statuses: Sequence[Mapping[str, Any]],
    statuses: Sequence[Mapping[str, Any]],
    sandbox_ready: bool,
    now: str,
    previous: Mapping[str, Mapping[str, Any]] | None = None,
    scheduled: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The five conditions in the order a real server shows them.

    `previous` maps condition type to the condition last written: a condition
    whose status did not change keeps its lastTransitionTime. `scheduled` is
    the PodScheduled condition the binding wrote (kept as is).
    """
    previous = previous or {}
    containers_ready = containers_ready_condition(spec, statuses, phase)
    ready = dict(containers_ready, type="Ready")  # no readiness gates: Ready mirrors ContainersReady
    generated = [
        _cond("PodReadyToStartContainers", sandbox_ready),
        initialized_condition(spec, init_statuses, statuses, phase),
        ready,
        containers_ready,
    ]
    out = []
    for c in generated:
        prev = previous.get(c["type"])
        if prev is not None and prev.get("status") == c["status"] and prev.get("lastTransitionTime"):
            ltt = prev["lastTransitionTime"]
        else:
            ltt = now
        full: dict[str, Any] = {
            "type": c["type"],
            "status": c["status"],
            "lastProbeTime": None,
            "lastTransitionTime": ltt,
        }
        if "reason" in c:
            full["reason"] = c["reason"]
        if "message" in c:
            full["message"] = c["message"]
        out.append(full)
    out.append(dict(scheduled) if scheduled else pod_scheduled_condition(now))
    return out


def pod_scheduled_condition(now: str) -> dict[str, Any]:
    return {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
