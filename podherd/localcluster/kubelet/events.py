"""The core/v1 Events the local kubelet records about its pods (API.md §9).

Shaped as the kubelet (and, for ``Scheduled``, the default scheduler) writes
them, so ``kubectl describe`` and event watchers see what they see on a real
node. A repeated event (same container, reason, message, type) bumps the count
of the one already written instead of creating another, as the event
recorder's correlator does. Recording never raises: an event is best effort.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from podherd.localcluster.apimachinery.errors import ApiError
from podherd.localcluster.apimachinery.kinds import EVENTS
from podherd.localcluster.kubelet.status import build as ks
from podherd.localcluster.storage.store import now_micro

if TYPE_CHECKING:
    from podherd.localcluster.kubelet.core import Kubelet
    from podherd.localcluster.kubelet.state import PodState

log = logging.getLogger(__name__)


def field_path(container: ks.Container) -> str:
    """involvedObject.fieldPath of an event about one container."""
    return f"spec.{'initContainers' if container.init else 'containers'}{{{container.name}}}"


class EventRecorder:
    """Writes the events of one kubelet (disabled: records nothing)."""

    def __init__(self, kubelet: Kubelet) -> None:
        self.k = kubelet
        self._last_event_ns = 0

    def _event_name(self, pod_name: str) -> str:
        t = max(time.time_ns(), self._last_event_ns + 1)
        self._last_event_ns = t
        return f"{pod_name}.{t:x}"

    def emit(
        self,
        ps: PodState,
        reason: str,
        message: str,
        type_: str = "Normal",
        container: ks.Container | None = None,
        scheduler: bool = False,
    ) -> None:
        """Record a core/v1 Event as the kubelet (or, for Scheduled, the scheduler) writes it. Never raises."""
        k = self.k
        if not k.events_enabled or k.stopped:
            return
        try:
            pod = k.current(ps)
            if pod is None:
                return
            ns, name = ps.key
            involved: dict[str, Any] = {
                "kind": "Pod",
                "namespace": ns,
                "name": name,
                "uid": ps.uid,
                "apiVersion": "v1",
                "resourceVersion": pod["metadata"].get("resourceVersion", ""),
            }
            path = ""
            if container is not None:
                path = field_path(container)
                involved["fieldPath"] = path
            now = k.now()
            cache_key = (path, reason, message, type_)
            seen = ps.events.get(cache_key)
            if seen is not None and not scheduler:
                old = k.store.get("events", seen)
                if old is not None:
                    updated = dict(old)
                    updated["count"] = int(old.get("count") or 1) + 1
                    updated["lastTimestamp"] = now
                    k.store.update("events", seen, updated)
                    return
            body: dict[str, Any] = {
                "metadata": {"name": self._event_name(name), "namespace": ns},
                "involvedObject": involved,
            }
            body["reason"] = reason
            body["message"] = message
            if scheduler:
                body.update(
                    source={},
                    firstTimestamp=None,
                    lastTimestamp=None,
                    type=type_,
                    eventTime=now_micro(k.api.clock()),
                    action="Binding",
                    reportingComponent="default-scheduler",
                    reportingInstance=f"default-scheduler-{k.node_name}",
                )
            else:
                body.update(
                    source={"component": "kubelet", "host": k.node_name},
                    firstTimestamp=now,
                    lastTimestamp=now,
                    count=1,
                    type=type_,
                    eventTime=None,
                    reportingComponent="kubelet",
                    reportingInstance=k.node_name,
                )
            created = k.api.create(EVENTS, ns, body, manager="kubelet")
            ps.events[cache_key] = (ns, created["metadata"]["name"])
        except ApiError as e:
            log.debug("kubelet: event %s for %s/%s not recorded: %s", reason, ps.namespace, ps.name, e)
        except Exception:
            log.exception("kubelet: event %s for %s/%s not recorded", reason, ps.namespace, ps.name)

    # ---- the container lifecycle events both modes record ---------------------------------------
    def pulled(self, ps: PodState, c: ks.Container) -> None:
        """Images are never pulled: the message is a kubelet's for an image already on the machine."""
        self.emit(ps, "Pulled", f'Container image "{c.image}" already present on machine', container=c)

    def created(self, ps: PodState, c: ks.Container) -> None:
        self.emit(ps, "Created", f"Created container: {c.name}", container=c)

    def started(self, ps: PodState, c: ks.Container) -> None:
        self.emit(ps, "Started", f"Started container {c.name}", container=c)

    def killing(self, ps: PodState, name: str, container: ks.Container | None) -> None:
        self.emit(ps, "Killing", f"Stopping container {name}", container=container)
