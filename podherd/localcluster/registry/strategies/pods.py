"""The pod strategy: defaulting, pod validation and its update rules, graceful delete, selectable fields.

Ported from ``pkg/registry/core/pod/strategy.go``: pods keep their status out of main-resource writes
(the /status subresource changes it), count spec changes in metadata.generation, answer DELETE with
the object, and honour a grace period once they are bound to a node and not yet terminal.
"""

from __future__ import annotations

from typing import Any

from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.registry.strategies.base import (
    META_FIELDS,
    JSONDict,
    Strategy,
    go_string,
    json_object,
)
from podherd.localcluster.validation.defaults import default_pod, default_pod_spec
from podherd.localcluster.validation.pods import validate_pod
from podherd.localcluster.validation.podupdate import validate_pod_update
from podherd.localcluster.validation.status import validate_pod_status

# Field-label conversion funcs registered in k/k pkg/apis/core/v1/conversion.go.
POD_FIELD_LABELS = META_FIELDS | {
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
}


class PodStrategy(Strategy):
    returns_deleted_object = True
    has_status_subresource = True
    tracks_generation = True
    graceful_delete = True
    field_labels = POD_FIELD_LABELS
    field_aliases = {"spec.host": "spec.nodeName"}

    def prepare_for_create(self, obj: JSONDict) -> JSONDict:
        return default_pod(obj)

    def scheme_defaults(self, obj: JSONDict) -> JSONDict:
        spec = obj.get("spec")
        return {**obj, "spec": default_pod_spec(spec)} if isinstance(spec, dict) else obj

    def validate(self, obj: JSONDict) -> list[Cause]:
        return validate_pod(obj)

    def validate_update(self, old: JSONDict, new: JSONDict) -> list[Cause]:
        return validate_pod_update(old, new)

    def validate_status_update(self, old: JSONDict, new: JSONDict) -> list[Cause]:
        return validate_pod_status(new.get("status"))

    def grace_period(self, obj: JSONDict, requested: int | None) -> int:
        """CheckGracefulDelete: the requested or spec grace; 0 for an unbound or terminal pod; never negative."""
        spec = obj.get("spec") or {}
        period: Any = requested if requested is not None else spec.get("terminationGracePeriodSeconds", 30)
        if not isinstance(period, int):
            period = 30
        phase = (obj.get("status") or {}).get("phase")
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
            return 0
        return 1 if period < 0 else period

    def selectable_fields(self, obj: JSONDict) -> dict[str, str]:
        """ToSelectableFields. `status.podIPs` is accepted by the conversion but never set there, so on a real
        server it always compares as "" (``status.podIPs=`` matches every pod): it is left out here too."""
        meta, spec, status = json_object(obj, "metadata"), json_object(obj, "spec"), json_object(obj, "status")
        # v1 -> internal conversion: a set podIP wins over podIPs[0].
        pod_ip = go_string(status.get("podIP"))
        if not pod_ip:
            ips = status.get("podIPs")
            if isinstance(ips, list) and ips and isinstance(ips[0], dict):
                pod_ip = go_string(ips[0].get("ip"))
        return {
            "spec.nodeName": go_string(spec.get("nodeName")),
            "spec.restartPolicy": go_string(spec.get("restartPolicy")),
            "spec.schedulerName": go_string(spec.get("schedulerName")),
            "spec.serviceAccountName": go_string(spec.get("serviceAccountName")),
            "spec.hostNetwork": "true" if spec.get("hostNetwork") is True else "false",
            "status.phase": go_string(status.get("phase")),
            "status.podIP": pod_ip,
            "status.nominatedNodeName": go_string(status.get("nominatedNodeName")),
            "metadata.name": go_string(meta.get("name")),
            "metadata.namespace": go_string(meta.get("namespace")),
        }
