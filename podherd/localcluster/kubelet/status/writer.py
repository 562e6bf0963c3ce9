"""Writing a pod's status (and binding) from the local kubelet's records.

The status is rebuilt whole from :class:`PodState` on every write, never
patched, so a write cannot leave a mix of old and new container states. Changes
made within one event-loop iteration share a write (:meth:`StatusWriter.mark_dirty`);
an unchanged status is not written again.
"""

from __future__ import annotations

import logging
from typing import Any

from podherd.localcluster.apimachinery.kinds import PODS
from podherd.localcluster.kubelet.node import Node
from podherd.localcluster.kubelet.scheduling import forget_unscheduled
from podherd.localcluster.kubelet.state import HOST_IP, PodState
from podherd.localcluster.kubelet.status import build as ks
from podherd.localcluster.kubelet.status import phase as kp

log = logging.getLogger(__name__)


def build_status(ps: PodState, old: dict[str, Any], now: str) -> dict[str, Any]:
    """The PodStatus the records describe; `old` (the stored status) keeps qosClass, PodScheduled and transition times."""
    init_st = [ks.container_status(c) for c in ps.init]
    st = [ks.container_status(c) for c in ps.main]
    phase = kp.get_phase(ps.spec, init_st, st, ps.torn_down)
    if ps.force_failed:
        phase = kp.FAILED
    elif ps.torn_down:
        phase = ks.terminal_phase(phase)
    terminal = phase in kp.TERMINAL_PHASES
    old_conds = old.get("conditions") if isinstance(old.get("conditions"), list) else []
    previous = {c.get("type"): c for c in old_conds if isinstance(c, dict)}
    scheduled = previous.get("PodScheduled")
    conditions = kp.pod_conditions(
        ps.spec, phase, init_st, st, ps.sandbox_ready and not terminal, now, previous, scheduled
    )
    return ks.pod_status(
        phase=phase,
        conditions=conditions,
        host_ip=HOST_IP,
        pod_ip=ps.pod_ip,
        start_time=ps.start_time,
        init_statuses=init_st,
        statuses=st,
        qos_class=old.get("qosClass"),
        reason=ps.reason,
        message=ps.message,
        has_init=bool(ps.init),
    )


class StatusWriter:
    """Puts the status built from the records into the store, for the pods of one node."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def mark_dirty(self, ps: PodState) -> None:
        """Write the status soon; changes made in the same loop iteration share one write."""
        if ps.flush_pending or ps.gone or self.node.loop is None:
            return
        ps.flush_pending = True
        self.node.loop.call_soon(self._flush, ps)

    def _flush(self, ps: PodState) -> None:
        ps.flush_pending = False
        try:
            self.write(ps)
        except Exception:
            log.exception("kubelet: status write failed for %s/%s", ps.namespace, ps.name)

    def _put(self, ps: PodState, pod: dict[str, Any], status: dict[str, Any], bind: bool) -> None:
        """Store `pod` with `status` (and bound to this node if asked and unbound)."""
        new = dict(pod)
        new["status"] = status
        spec = pod.get("spec")
        if bind and isinstance(spec, dict) and not spec.get("nodeName"):
            new["spec"] = {**spec, "nodeName": self.node.name}
        self.node.store.update(PODS.plural, ps.key, new)

    def write(self, ps: PodState, bind: bool = False) -> bool:
        """Write the status built from the kubelet's records (and the binding, if asked). False if the pod is gone."""
        if self.node.stopped:
            return False
        pod = self.node.current(ps)
        if pod is None:
            return False
        old = pod.get("status") if isinstance(pod.get("status"), dict) else {}
        if bind:
            old = dict(forget_unscheduled(old))
        status = build_status(ps, old, self.node.now())
        if status["phase"] in kp.TERMINAL_PHASES and not ps.terminal:
            ps.terminal = True
            ps.cancel_deadline()
        spec = pod.get("spec") or {}
        if status == old and not (bind and not spec.get("nodeName")):
            return True
        self._put(ps, pod, status, bind)
        return True

    def write_bare_failure(self, ps: PodState, message: str, bind: bool) -> None:
        """The last resort when the full status cannot be built: phase Failed, the reason and message only."""
        pod = self.node.current(ps)
        if pod is None:
            return
        old = pod.get("status") if isinstance(pod.get("status"), dict) else {}
        status: dict[str, Any] = {"phase": ks.FAILED, "message": message, "reason": ps.reason}
        if old.get("qosClass"):
            status["qosClass"] = old["qosClass"]
        self._put(ps, pod, status, bind)
        ps.terminal = True
