"""The scheduler's half of the local kubelet: place a pending pod on the node, or say why not.

`scheduling` decides (pure); this writes what the default scheduler writes when a pod does not fit:
the pod's PodScheduled condition False with reason Unschedulable and the FitError message, and a
FailedScheduling event (Warning, from default-scheduler). The kubelet core keeps such a pod and asks
again whenever the Node changes (labels, taints, cordon), as the scheduler's queue retries on
cluster events.
"""

from __future__ import annotations

import logging
from typing import Any

from podherd.localcluster.apimachinery.kinds import NODES, PODS
from podherd.localcluster.kubelet.events import EventRecorder
from podherd.localcluster.kubelet.node import Node
from podherd.localcluster.kubelet.scheduling import (
    NO_NODES,
    admission_failure,
    filter_reason,
    fit_error,
    unschedulable_status,
)
from podherd.localcluster.kubelet.state import PodState

log = logging.getLogger(__name__)


class Binder:
    """Decides whether this node takes a pod, for the scheduler (unbound pods) and the kubelet (bound ones)."""

    def __init__(self, node: Node, recorder: EventRecorder) -> None:
        self.node = node
        self.recorder = recorder

    def node_object(self) -> dict[str, Any] | None:
        return self.node.store.get(NODES.plural, ("", self.node.name))

    def place(self, ps: PodState, pod: dict[str, Any]) -> bool:
        """True if the pod fits the node; else record why (status + FailedScheduling) and return False."""
        node = self.node_object()
        if node is None:
            message = NO_NODES
        else:
            reason = filter_reason(pod, node)
            if not reason:
                return True
            message = fit_error(reason)
        status = pod.get("status") if isinstance(pod.get("status"), dict) else {}
        new = unschedulable_status(status, message, self.node.now())
        if new != status:
            self.node.store.update(PODS.plural, ps.key, {**pod, "status": new})
        self.recorder.emit(ps, "FailedScheduling", message, type_="Warning", scheduler=True, action="Scheduling")
        return False

    def admit(self, pod: dict[str, Any]) -> tuple[str, str]:
        """The kubelet's admission of a pod created bound to this node: (reason, message) to reject it, or ("", "")."""
        node = self.node_object()
        return ("", "") if node is None else admission_failure(pod, node)
