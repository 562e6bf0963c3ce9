"""Pod JSON -> task outcome (phase, container states, failure details).

Pure and total: :func:`pod_outcome` accepts whatever a watch, a list or a
kubelet hands us (missing ``status``, ``containerStatuses: null``, absent
``exitCode``, non-dict junk) and never raises, because one odd pod must not
stall the result loop for every other task.

Differences from the anchor's ``process_status`` (see reference §2), on purpose:

* *every* init and main container is checked for fatal waiting reasons while
  Pending (the anchor looks only at ``containerStatuses[0]``), and
  ``ImagePullBackOff`` is fatal by default (the pull already failed once);
* Running is reported (the anchor never emits it), so the caller can record
  when the task actually started;
* the pod-level ``status.reason``/``message`` (Evicted, DeadlineExceeded, ...)
  are always kept in ``pod_reason``/``pod_message`` beside the container cause.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "FATAL_WAITING_REASONS_DEFAULT",
    "LOST",
    "TERMINAL_PHASES",
    "Outcome",
    "OutcomeState",
    "PodPhase",
    "deleted_outcome",
    "pod_outcome",
    "timeout_outcome",
]

FATAL_WAITING_REASONS_DEFAULT: frozenset[str] = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError", "CreateContainerError", "InvalidImageName"}
)
# The kubelet's own pull rate limit: it retries by itself, so it is not a broken image (anchor behaviour).
_PULL_QPS_EXCEEDED = "pull QPS exceeded"


class PodPhase(StrEnum):
    """`status.phase` of a pod, as the API spells it."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    UNKNOWN = "Unknown"


TERMINAL_PHASES = (PodPhase.SUCCEEDED, PodPhase.FAILED)


class OutcomeState(StrEnum):
    """What a pod says about its attempt (the values are what the database stores in failure details)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


PENDING = OutcomeState.PENDING
RUNNING = OutcomeState.RUNNING
SUCCESS = OutcomeState.SUCCESS
FAILED = OutcomeState.FAILED
_TERMINAL = frozenset({SUCCESS, FAILED})


@dataclass(frozen=True)
class Outcome:
    """What a pod says about its task attempt right now."""

    state: OutcomeState
    exit_code: int | None = None
    reason: str = ""  # the cause: container reason (Error, OOMKilled, ErrImagePull) or pod-level / synthetic one
    message: str = ""
    container: str = ""  # the container the failure came from
    container_type: str = ""  # "init" | "main" | ""
    pod_phase: str = ""  # as the pod said it (any string: the input is untrusted)
    pod_reason: str = ""  # status.reason (Evicted, DeadlineExceeded, ...), kept even when a container explains more
    pod_message: str = ""

    @property
    def terminal(self) -> bool:
        """True once the attempt has finished (success or failed) and the result can be recorded."""
        return self.state in _TERMINAL

    def to_details(self) -> dict[str, Any]:
        """JSON failure details for the DB (the anchor's FailureDetails, plus the overall state).

        Every key is always present so readers need no ``.get`` juggling.
        """
        return {
            "state": self.state,
            "pod_phase": self.pod_phase,
            "pod_reason": self.pod_reason,
            "pod_message": self.pod_message,
            "reason": self.reason,
            "message": self.message,
            "exit_code": self.exit_code,
            "container_name": self.container,
            "container_type": self.container_type,
        }

    @classmethod
    def from_details(cls, details: Mapping[str, Any]) -> Outcome:
        """Inverse of :meth:`to_details` (tolerates missing keys from older rows)."""
        exit_code = _int(details.get("exit_code"))
        return cls(
            state=_state(details.get("state")),
            exit_code=exit_code,
            reason=_str(details.get("reason")),
            message=_str(details.get("message")),
            container=_str(details.get("container_name")),
            container_type=_str(details.get("container_type")),
            pod_phase=_str(details.get("pod_phase")),
            pod_reason=_str(details.get("pod_reason")),
            pod_message=_str(details.get("pod_message")),
        )


LOST = Outcome(
    FAILED,
    reason="pod lost",
    message="the pod disappeared while no watch was observing it; its final state is unknown",
)


def timeout_outcome(seconds: float) -> Outcome:
    """The attempt exceeded its time budget (pending or running) and was given up on."""
    return Outcome(FAILED, reason="timeout", message=f"the task did not finish within {seconds:g} s")


# -- defensive accessors: the input is untrusted JSON -------------------------------------------


def _state(value: Any) -> OutcomeState:
    text = _str(value)
    return OutcomeState(text) if text in _STATES else FAILED


_STATES = frozenset(s.value for s in OutcomeState)


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, (list, tuple)):
        return []
    return [v for v in value if isinstance(v, Mapping)]


def _str(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _groups(status: Mapping[str, Any]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """Container statuses in inspection order: init containers first, they run (and fail) first."""
    return [
        ("init", _list(status.get("initContainerStatuses"))),
        ("main", _list(status.get("containerStatuses"))),
    ]


def _pod_level(status: Mapping[str, Any], phase: str) -> dict[str, Any]:
    return {
        "pod_phase": phase,
        "pod_reason": _str(status.get("reason")),
        "pod_message": _str(status.get("message")),
    }


def _fatal_waiting(status: Mapping[str, Any], phase: str, fatal: frozenset[str]) -> Outcome | None:
    for ctype, statuses in _groups(status):
        for cs in statuses:
            waiting = _map(_map(cs.get("state")).get("waiting"))
            reason = _str(waiting.get("reason"))
            message = _str(waiting.get("message"))
            if reason not in fatal:
                continue
            if reason == "ErrImagePull" and _PULL_QPS_EXCEEDED in message:
                continue
            return Outcome(
                FAILED,
                reason=reason,
                message=message,
                container=_str(cs.get("name")),
                container_type=ctype,
                **_pod_level(status, phase),
            )
    return None


def _first_waiting_reason(status: Mapping[str, Any]) -> tuple[str, str]:
    """For a non-fatal Pending pod: why it is waiting (ContainerCreating, ...), for display only."""
    for _, statuses in _groups(status):
        for cs in statuses:
            waiting = _map(_map(cs.get("state")).get("waiting"))
            if waiting:
                return _str(waiting.get("reason")), _str(waiting.get("message"))
    return "", ""


def _is_failed_termination(terminated: Mapping[str, Any]) -> bool:
    """A terminated state counts as a failure unless it is a clean ``exit 0`` / ``Completed``."""
    code = _int(terminated.get("exitCode"))
    reason = _str(terminated.get("reason"))
    if code is None:
        return reason != "Completed"
    return code != 0 or reason not in ("", "Completed")


def _failure_details(status: Mapping[str, Any], phase: str) -> Outcome:
    """The anchor's ``collect_pod_failure_details``, per group (init, then main):
    the first failed termination, else the last waiting container; else pod level."""
    pod_level = _pod_level(status, phase)
    for ctype, statuses in _groups(status):
        last_waiting: Outcome | None = None
        for cs in statuses:
            state = _map(cs.get("state"))
            terminated = _map(state.get("terminated"))
            waiting = _map(state.get("waiting"))
            if terminated and _is_failed_termination(terminated):
                return Outcome(
                    FAILED,
                    exit_code=_int(terminated.get("exitCode")),
                    reason=_str(terminated.get("reason")),
                    message=_str(terminated.get("message")),
                    container=_str(cs.get("name")),
                    container_type=ctype,
                    **pod_level,
                )
            if waiting and not terminated:
                last_waiting = Outcome(
                    FAILED,
                    reason=_str(waiting.get("reason")),
                    message=_str(waiting.get("message")),
                    container=_str(cs.get("name")),
                    container_type=ctype,
                    **pod_level,
                )
        if last_waiting is not None:
            return last_waiting
    return Outcome(FAILED, reason=pod_level["pod_reason"], message=pod_level["pod_message"], **pod_level)


def pod_outcome(pod: Any, fatal_waiting_reasons: frozenset[str] = FATAL_WAITING_REASONS_DEFAULT) -> Outcome:
    """Map a pod (API JSON) to the state of its task attempt. Never raises.

    Pending: failed if any init or main container waits with a fatal reason,
    else pending. Running: running (also while being deleted: the kubelet will
    write the terminal state). Succeeded: success, exit 0. Failed: failed with
    the failing container's details. Unknown or absent phase: pending.
    """
    try:
        return _pod_outcome(pod, fatal_waiting_reasons)
    except Exception:  # pragma: no cover - belt and braces; the property test runs _pod_outcome unguarded
        return Outcome(PENDING)


def _pod_outcome(pod: Any, fatal_waiting_reasons: frozenset[str]) -> Outcome:
    status = _map(_map(pod).get("status"))
    phase = _str(status.get("phase"))
    if phase == PodPhase.SUCCEEDED:
        return Outcome(SUCCESS, exit_code=0, **_pod_level(status, phase))
    if phase == PodPhase.FAILED:
        return _failure_details(status, phase)
    if phase == PodPhase.RUNNING:
        return Outcome(RUNNING, **_pod_level(status, phase))
    if phase == PodPhase.PENDING:
        fatal = _fatal_waiting(status, phase, fatal_waiting_reasons)
        if fatal is not None:
            return fatal
    reason, message = _first_waiting_reason(status)
    return Outcome(PENDING, reason=reason, message=message, **_pod_level(status, phase))


def deleted_outcome(pod: Any) -> Outcome:
    """Outcome for a pod whose DELETED event we saw.

    If its last state was terminal, that is the result (a normal cleanup, or a
    graceful delete after which the kubelet wrote the final state). Otherwise the
    attempt was killed before finishing: failed, "pod deleted".
    """
    outcome = pod_outcome(pod)
    if outcome.terminal:
        return outcome
    meta = _map(_map(pod).get("metadata"))
    name = _str(meta.get("name")) or "?"
    phase = outcome.pod_phase or "unknown"
    return Outcome(
        FAILED,
        reason="pod deleted",
        message=f"pod {name} was deleted while {phase.lower()}, before the task finished",
        pod_phase=outcome.pod_phase,
        pod_reason=outcome.pod_reason,
        pod_message=outcome.pod_message,
    )
