"""The core/v1 Events the local kubelet records about its pods (API.md §9).

Shaped as the kubelet (and, for ``Scheduled``, the default scheduler) writes them, so ``kubectl
describe`` and event watchers see what they see on a real node. A repeated event (same container,
reason, message, type) bumps the count of the one already written instead of creating another, as
the event recorder's correlator does. Recording never raises: an event is best effort.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from podherd.localcluster.apimachinery.errors import ApiError
from podherd.localcluster.apimachinery.kinds import EVENTS
from podherd.localcluster.kubelet.node import Node
from podherd.localcluster.kubelet.state import PodState
from podherd.localcluster.kubelet.status import build as ks
from podherd.localcluster.registry.store import Api
from podherd.localcluster.storage.store import now_micro

log = logging.getLogger(__name__)

EventKey = tuple[str, str, str, str]  # (fieldPath, reason, message, type): what the correlator compares


def field_path(container: ks.Container) -> str:
    """involvedObject.fieldPath of an event about one container."""
    return f"spec.{'initContainers' if container.init else 'containers'}{{{container.name}}}"


def involved_object(ps: PodState, pod: dict[str, Any], container: ks.Container | None) -> dict[str, Any]:
    """The event's involvedObject: the pod as stored now, and the container's fieldPath if any."""
    involved: dict[str, Any] = {
        "kind": "Pod",
        "namespace": ps.namespace,
        "name": ps.name,
        "uid": ps.uid,
        "apiVersion": "v1",
        "resourceVersion": pod["metadata"].get("resourceVersion", ""),
    }
    if container is not None:
        involved["fieldPath"] = field_path(container)
    return involved


class EventRecorder:
    """Writes the events of one kubelet's pods (when disabled, it records nothing)."""

    def __init__(self, node: Node, api: Api, enabled: bool) -> None:
        self.node = node
        self.api = api
        self.enabled = enabled
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
        action: str = "Binding",
    ) -> None:
        """Record a core/v1 Event as the kubelet (or, with `scheduler`, the scheduler doing `action`) writes it.
        Never raises."""
        if not self.enabled or self.node.stopped:
            return
        try:
            pod = self.node.current(ps)
            if pod is None:
                return
            involved = involved_object(ps, pod, container)
            cache_key = (involved.get("fieldPath", ""), reason, message, type_)
            if not scheduler and self._repeat(ps, cache_key):
                return
            body = self._body(ps, involved, reason, message, type_, scheduler, action)
            created = self.api.create(EVENTS, ps.namespace, body, manager="kubelet")
            ps.events[cache_key] = (ps.namespace, created["metadata"]["name"])
        except ApiError as e:
            log.debug("kubelet: event %s for %s/%s not recorded: %s", reason, ps.namespace, ps.name, e)
        except Exception:
            log.exception("kubelet: event %s for %s/%s not recorded", reason, ps.namespace, ps.name)

    def _repeat(self, ps: PodState, cache_key: EventKey) -> bool:
        """Bump the count of the same event already written for this pod; False if there is none."""
        seen = ps.events.get(cache_key)
        old = self.node.store.get(EVENTS.plural, seen) if seen is not None else None
        if seen is None or old is None:
            return False
        updated = dict(old)
        updated["count"] = int(old.get("count") or 1) + 1
        updated["lastTimestamp"] = self.node.now()
        self.node.store.update(EVENTS.plural, seen, updated)
        return True

    def _body(
        self,
        ps: PodState,
        involved: dict[str, Any],
        reason: str,
        message: str,
        type_: str,
        scheduler: bool,
        action: str = "Binding",
    ) -> dict[str, Any]:
        """A new Event: the scheduler's (events.k8s.io shape, eventTime) or the kubelet's (counted, timestamps)."""
        body: dict[str, Any] = {
            "metadata": {"name": self._event_name(ps.name), "namespace": ps.namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
        }
        node = self.node
        if scheduler:
            body.update(
                source={},
                firstTimestamp=None,
                lastTimestamp=None,
                type=type_,
                eventTime=now_micro(node.clock()),
                action=action,
                reportingComponent="default-scheduler",
                reportingInstance=f"default-scheduler-{node.name}",
            )
        else:
            now = node.now()
            body.update(
                source={"component": "kubelet", "host": node.name},
                firstTimestamp=now,
                lastTimestamp=now,
                count=1,
                type=type_,
                eventTime=None,
                reportingComponent="kubelet",
                reportingInstance=node.name,
            )
        return body

    # ---- the container lifecycle events both modes record ---------------------------------------
    def pulled(self, ps: PodState, c: ks.Container) -> None:
        """Images are never pulled: the message is a kubelet's for an image already on the machine."""
        self.emit(ps, "Pulled", f'Container image "{c.image}" already present on machine', container=c)

    def created(self, ps: PodState, c: ks.Container) -> None:
        self.emit(ps, "Created", f"Created container: {c.name}", container=c)

    def started(self, ps: PodState, c: ks.Container) -> None:
        self.emit(ps, "Started", f"Started container {c.name}", container=c)

    def killing(self, ps: PodState, name: str, container: ks.Container | None, message: str = "") -> None:
        self.emit(ps, "Killing", message or f"Stopping container {name}", container=container)
