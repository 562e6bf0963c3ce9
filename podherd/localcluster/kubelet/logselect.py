"""Which container instance's log a `pods/log` request reads, from the pod's status (the kubelet's
validateContainerLogStatus, pure).

``previous`` reads the instance in ``lastState.terminated``; otherwise a running instance, a
terminated one, or (a container waiting to be restarted) the last terminated one. A container with
no instance to read is an error whose text the kubelet sends back, which the API server relays as a
400 BadRequest: ``previous terminated container "c" in pod "p" not found``, ``container "c" in pod
"p" is waiting to start: ContainerCreating``, and the others below.
"""

from __future__ import annotations

from typing import Any


class NoLogs(Exception):
    """No instance of the container has a log to read; the message is the kubelet's."""


def _status_of(pod: dict[str, Any], container: str) -> dict[str, Any] | None:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses"):
        for s in status.get(key) or []:
            if isinstance(s, dict) and s.get("name") == container:
                return s
    return None


def _waiting_error(container: str, pod_name: str, reason: str) -> NoLogs:
    quoted = f'container "{container}" in pod "{pod_name}"'
    if reason == "ErrImagePull":
        return NoLogs(f"{quoted} is waiting to start: image can't be pulled")
    if reason == "ImagePullBackOff":
        return NoLogs(f"{quoted} is waiting to start: trying and failing to pull image")
    return NoLogs(f"{quoted} is waiting to start: {reason}")


def log_instance(pod: dict[str, Any], container: str, previous: bool) -> str:
    """The container ID whose log to read, or NoLogs with the kubelet's message."""
    name = str((pod.get("metadata") or {}).get("name") or "")
    quoted = f'container "{container}" in pod "{name}"'
    status = _status_of(pod, container)
    if status is None:  # the kubelet has not written one yet: it is creating the container
        raise _waiting_error(container, name, "ContainerCreating")
    state = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated") or {}
    if previous:
        if not last.get("containerID"):
            raise NoLogs(f'previous terminated container "{container}" in pod "{name}" not found')
        return str(last["containerID"])
    if "running" in state:
        return str(status.get("containerID") or "")
    if "terminated" in state:
        cid = (state.get("terminated") or {}).get("containerID") or last.get("containerID")
        if not cid:
            raise NoLogs(f"{quoted} is terminated")
        return str(cid)
    if last:
        if not last.get("containerID"):
            raise NoLogs(f"{quoted} is terminated")
        return str(last["containerID"])
    if "waiting" in state:
        raise _waiting_error(container, name, str((state.get("waiting") or {}).get("reason") or ""))
    raise NoLogs(f"{quoted} is waiting to start - no logs yet")
