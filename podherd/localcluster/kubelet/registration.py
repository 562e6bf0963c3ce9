"""The kubelet registers its Node: `local`, with labels, addresses, capacity, conditions and nodeInfo.

As ``kubelet_node_status.go`` does at start: create the Node if it is missing, else refresh its
standard labels and its status (a restarted kubelet reports the machine anew). The node is what
``kubectl get nodes`` / ``describe node`` show and what the scheduler (`scheduling`) matches a pod's
nodeSelector, node affinity and tolerations against. Nothing renews it afterwards: the embedded
kubelet does not die without its cluster, so there is no heartbeat for anyone to miss (a
documented difference: `lastHeartbeatTime` stays at registration time, and there is no node Lease).
"""

from __future__ import annotations

import logging
from typing import Any

from podherd import __version__
from podherd.localcluster.apimachinery.errors import ApiError
from podherd.localcluster.apimachinery.kinds import NODES
from podherd.localcluster.apimachinery.version import GIT_VERSION
from podherd.localcluster.kubelet.machine import Machine, allocatable, capacity
from podherd.localcluster.kubelet.state import HOST_IP
from podherd.localcluster.registry.store import Api

log = logging.getLogger(__name__)

KUBELET_PORT = 10250
_CONDITIONS = (  # type, status, reason, message: a healthy node as its kubelet reports it
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def node_labels(name: str, m: Machine) -> dict[str, str]:
    """The well-known labels a kubelet sets on its node (the ones nodeSelectors usually name)."""
    return {
        "beta.kubernetes.io/arch": m.arch,
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": m.arch,
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
    }


def node_status(name: str, m: Machine, now: str, mode: str) -> dict[str, Any]:
    """The NodeStatus of a Ready node, keys in the Go struct's order."""
    return {
        "capacity": capacity(m),
        "allocatable": allocatable(m),
        "conditions": [
            {"type": t, "status": s, "lastHeartbeatTime": now, "lastTransitionTime": now, "reason": r, "message": msg}
            for t, s, r, msg in _CONDITIONS
        ],
        "addresses": [{"type": "InternalIP", "address": HOST_IP}, {"type": "Hostname", "address": name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "nodeInfo": {
            "machineID": m.machine_id,
            "systemUUID": m.machine_id,
            "bootID": m.boot_id,
            "kernelVersion": m.kernel,
            "osImage": m.os_image,
            "containerRuntimeVersion": f"podherd-{mode}://{__version__}",
            "kubeletVersion": GIT_VERSION,
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": m.arch,
        },
    }


def register(api: Api, name: str, m: Machine, now: str, mode: str) -> None:
    """Create the Node, or refresh the labels and status of the one a previous kubelet registered."""
    labels = node_labels(name, m)
    status = node_status(name, m, now, mode)
    try:
        existing = api.store.get(NODES.plural, ("", name))
        if existing is None:
            body = {"metadata": {"name": name, "labels": labels}, "spec": {}, "status": status}
            api.create(NODES, "", body, manager="kubelet")
            return
        meta = existing["metadata"]
        updated = {**existing, "metadata": {**meta, "labels": {**(meta.get("labels") or {}), **labels}}}
        api.update(NODES, "", name, updated, manager="kubelet")
        api.update(NODES, "", name, {**api.get(NODES, "", name), "status": status}, "status", manager="kubelet")
    except ApiError as e:
        log.warning("kubelet: could not register node %s: %s", name, e)
