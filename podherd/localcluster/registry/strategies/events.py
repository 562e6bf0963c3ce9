"""The core/v1 Event strategy: legacy event validation and the event field selectors.

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
