"""Type checks of a status written through the /status subresource (pods and namespaces).

Why: a real server decodes the body into Go structs, so `{"status":{"phase":5}}` can never be
stored there; here, without that step, such a write would be stored and then break every client
that decodes it (`kubectl describe` among them). Each field of PodStatus/NamespaceStatus (and of
the container statuses, conditions and states inside) is checked against its Go type with the
same `FieldValueTypeInvalid` causes as the main resource's validation, so the write is a 422 and
the object stays as it was. Unknown fields are ignored, as the decoder drops them. Values are not
validated beyond their types (timestamps must parse, int32 fields must fit).
"""

from __future__ import annotations

from typing import Any

from podherd.localcluster.apimachinery.errors import Cause
from podherd.localcluster.validation.defaults import QUANTITY_FORMAT_MSG, parse_quantity
from podherd.localcluster.validation.fieldcheck import inclusive_range, invalid_value, parse_time, type_invalid

# A field's type: a scalar name, or ("object", fields) / ("array", element) / ("map", value type).
Spec = str | tuple[str, Any]
Fields = dict[str, Spec]

MIN_INT32, MAX_INT32 = -(2**31), 2**31 - 1
TIME_MSG = 'must be an RFC 3339 time, e.g. "2006-01-02T15:04:05Z"'

_STATE: Fields = {
    "waiting": ("object", {"reason": "string", "message": "string"}),
    "running": ("object", {"startedAt": "time"}),
    "terminated": (
        "object",
        {
            "exitCode": "int32",
            "signal": "int32",
            "reason": "string",
            "message": "string",
            "startedAt": "time",
            "finishedAt": "time",
            "containerID": "string",
        },
    ),
}
_CONTAINER_STATUS: Fields = {
    "name": "string",
    "state": ("object", _STATE),
    "lastState": ("object", _STATE),
    "ready": "boolean",
    "restartCount": "int32",
    "image": "string",
    "imageID": "string",
    "containerID": "string",
    "started": "boolean",
    "allocatedResources": ("map", "quantity"),
    "stopSignal": "string",
}
_CONDITION: Fields = {
    "type": "string",
    "status": "string",
    "observedGeneration": "integer",
    "lastProbeTime": "time",
    "lastTransitionTime": "time",
    "reason": "string",
    "message": "string",
}
_IP: Fields = {"ip": "string"}
POD_STATUS: Fields = {
    "observedGeneration": "integer",
    "phase": "string",
    "conditions": ("array", ("object", _CONDITION)),
    "message": "string",
    "reason": "string",
    "nominatedNodeName": "string",
    "hostIP": "string",
    "hostIPs": ("array", ("object", _IP)),
    "podIP": "string",
    "podIPs": ("array", ("object", _IP)),
    "startTime": "time",
    "initContainerStatuses": ("array", ("object", _CONTAINER_STATUS)),
    "containerStatuses": ("array", ("object", _CONTAINER_STATUS)),
    "ephemeralContainerStatuses": ("array", ("object", _CONTAINER_STATUS)),
    "qosClass": "string",
    "resize": "string",
    "resourceClaimStatuses": ("array", ("object", {"name": "string", "resourceClaimName": "string"})),
}
NAMESPACE_STATUS: Fields = {
    "phase": "string",
    "conditions": (
        "array",
        (
            "object",
            {
                "type": "string",
                "status": "string",
                "lastTransitionTime": "time",
                "reason": "string",
                "message": "string",
            },
        ),
    ),
}


def _scalar(errs: list[Cause], value: Any, kind: str, path: str) -> None:
    if kind == "string" and not isinstance(value, str):
        errs.append(type_invalid(path, value, "string"))
    elif kind == "boolean" and not isinstance(value, bool):
        errs.append(type_invalid(path, value, "boolean"))
    elif kind in ("integer", "int32"):
        if isinstance(value, bool) or not isinstance(value, int):
            errs.append(type_invalid(path, value, "integer"))
        elif kind == "int32" and not MIN_INT32 <= value <= MAX_INT32:
            errs.append(invalid_value(path, value, inclusive_range(MIN_INT32, MAX_INT32)))
    elif kind == "time":
        if not isinstance(value, str):
            errs.append(type_invalid(path, value, "string"))
        elif value and parse_time(value) is None:
            errs.append(invalid_value(path, value, TIME_MSG))
    elif kind == "quantity":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            errs.append(type_invalid(path, value, "string"))
        elif parse_quantity(value) is None:
            errs.append(invalid_value(path, value, QUANTITY_FORMAT_MSG))


def check_value(errs: list[Cause], value: Any, spec: Spec, path: str) -> None:
    """Append a cause for every part of `value` that does not have the type `spec` describes; null is zero."""
    if value is None:
        return
    if isinstance(spec, str):
        _scalar(errs, value, spec, path)
        return
    kind, inner = spec
    if kind == "object":
        if not isinstance(value, dict):
            errs.append(type_invalid(path, value, "object"))
            return
        for key, field_spec in inner.items():
            check_value(errs, value.get(key), field_spec, f"{path}.{key}")
    elif kind == "array":
        if not isinstance(value, list):
            errs.append(type_invalid(path, value, "array"))
            return
        for i, item in enumerate(value):
            check_value(errs, item, inner, f"{path}[{i}]")
    elif kind == "map":
        if not isinstance(value, dict):
            errs.append(type_invalid(path, value, "object"))
            return
        for key, item in value.items():
            check_value(errs, item, inner, f"{path}[{key}]")


def validate_pod_status(status: Any) -> list[Cause]:
    """The causes a /status write of this PodStatus gets (empty: every field has its type)."""
    errs: list[Cause] = []
    check_value(errs, status, ("object", POD_STATUS), "status")
    return errs


def validate_namespace_status(status: Any) -> list[Cause]:
    errs: list[Cause] = []
    check_value(errs, status, ("object", NAMESPACE_STATUS), "status")
    return errs
