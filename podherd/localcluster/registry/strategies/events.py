"""The core/v1 Event strategy: legacy event validation, the event field selectors, times in canonical form.

Ported from ``pkg/registry/core/event/strategy.go`` (core/v1 field names).
"""

from __future__ import annotations

from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.registry.strategies.base import (
    META_FIELDS,
    JSONDict,
    Strategy,
    go_string,
    json_object,
)
from podherd.localcluster.validation.objects import validate_event
from podherd.localcluster.validation.times import micro_time, normalized, whole_time

EVENT_TIMES = {"eventTime": micro_time, "firstTimestamp": whole_time, "lastTimestamp": whole_time}

EVENT_FIELD_LABELS = META_FIELDS | {
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
}


class EventStrategy(Strategy):
    field_labels = EVENT_FIELD_LABELS

    def validate(self, obj: JSONDict) -> list[Cause]:
        return validate_event(obj)

    def canonicalize(self, obj: JSONDict) -> JSONDict:
        """eventTime is a MicroTime, first/lastTimestamp are metav1.Time: stored as the Go types encode them."""
        out = normalized(obj, EVENT_TIMES)
        series = out.get("series")
        if isinstance(series, dict):
            out["series"] = normalized(series, {"lastObservedTime": micro_time})
        return out

    def selectable_fields(self, obj: JSONDict) -> dict[str, str]:
        meta, involved = json_object(obj, "metadata"), json_object(obj, "involvedObject")
        reporting = go_string(obj.get("reportingComponent"))
        return {
            "involvedObject.kind": go_string(involved.get("kind")),
            "involvedObject.namespace": go_string(involved.get("namespace")),
            "involvedObject.name": go_string(involved.get("name")),
            "involvedObject.uid": go_string(involved.get("uid")),
            "involvedObject.apiVersion": go_string(involved.get("apiVersion")),
            "involvedObject.resourceVersion": go_string(involved.get("resourceVersion")),
            "involvedObject.fieldPath": go_string(involved.get("fieldPath")),
            "reason": go_string(obj.get("reason")),
            "reportingComponent": reporting,
            "source": go_string(json_object(obj, "source").get("component")) or reporting,
            "type": go_string(obj.get("type")),
            "metadata.name": go_string(meta.get("name")),
            "metadata.namespace": go_string(meta.get("namespace")),
        }
