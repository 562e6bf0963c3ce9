"""Which fields each resource exposes to field selectors (API.md §2).

Two halves, as in the real server: `check_field_selector` is the field-label
conversion a LIST/WATCH runs before touching storage (unknown field → 400, the
`spec.host` alias → `spec.nodeName`), and `selectable_fields` is the registry's
`ToSelectableFields`, the map a selector is matched against. Values that are
unset render as "", which is also what a missing field compares as.
"""

from __future__ import annotations

from typing import Any

from podherd.localcluster.apimachinery.errors import ApiError, bad_request
from podherd.localcluster.selectors.errors import go_quote
from podherd.localcluster.selectors.field import FieldSelector, FieldTerm

__all__ = ["check_field_selector", "selectable_fields"]

_META = frozenset({"metadata.name", "metadata.namespace"})

# Field-label conversion funcs registered in k/k pkg/apis/core/v1/conversion.go.
_POD_FIELDS = _META | {
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
_EVENT_FIELDS = _META | {
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
_NAMESPACE_FIELDS = frozenset({"status.phase", "metadata.name"})

_CONVERSIONS: dict[str, frozenset[str]] = {
    "pods": _POD_FIELDS,
    "events": _EVENT_FIELDS,
    "namespaces": _NAMESPACE_FIELDS,
}
_ALIASES: dict[str, dict[str, str]] = {"pods": {"spec.host": "spec.nodeName"}}


def check_field_selector(resource: str, selector: FieldSelector) -> FieldSelector:
    """Run the kind's field-label conversion over every term; raise 400 like the apiserver.

    Kinds without a registered conversion (leases, configmaps, ...) fall back to
    runtime.DefaultMetaV1FieldSelectorConversion, which has a different message.
    """
    allowed = _CONVERSIONS.get(resource)
    aliases = _ALIASES.get(resource, {})
    terms: list[FieldTerm] = []
    for term in selector.terms:
        name = aliases.get(term.field, term.field)
        if allowed is None:
            if name not in _META:
                raise _unknown_default(term.field)
        elif name not in allowed:
            raise bad_request(f"field label not supported: {term.field}")
        terms.append(term if name == term.field else FieldTerm(name, term.operator, term.value))
    return FieldSelector(tuple(terms))


def _unknown_default(name: str) -> ApiError:
    only = f"{go_quote('metadata.name')}, {go_quote('metadata.namespace')}"
    return bad_request(f"{go_quote(name)} is not a known field selector: only {only}")


def _s(value: Any) -> str:
    """A Go string field as the registry sees it: unset (absent or null) is ""."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _d(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def selectable_fields(resource: str, obj: dict[str, Any]) -> dict[str, str]:
    """The registry's ToSelectableFields for `resource` (plural), from the v1 JSON object."""
    meta = _d(obj, "metadata")
    if resource == "pods":
        return _pod_fields(obj, meta)
    if resource == "events":
        return _event_fields(obj, meta)
    if resource == "namespaces":
        return {"metadata.name": _s(meta.get("name")), "status.phase": _s(_d(obj, "status").get("phase"))}
    return {"metadata.name": _s(meta.get("name")), "metadata.namespace": _s(meta.get("namespace"))}


def _pod_fields(obj: dict[str, Any], meta: dict[str, Any]) -> dict[str, str]:
    """pkg/registry/core/pod/strategy.go ToSelectableFields.

    `status.podIPs` is accepted by the conversion but never set there, so on a real
    server it always compares as "" (``status.podIPs=`` matches every pod). We
    reproduce that by leaving it out.
    """
    spec = _d(obj, "spec")
    status = _d(obj, "status")
    # v1 -> internal conversion: a set podIP wins over podIPs[0].
    pod_ip = _s(status.get("podIP"))
    if not pod_ip:
        ips = status.get("podIPs")
        if isinstance(ips, list) and ips and isinstance(ips[0], dict):
            pod_ip = _s(ips[0].get("ip"))
    return {
        "spec.nodeName": _s(spec.get("nodeName")),
        "spec.restartPolicy": _s(spec.get("restartPolicy")),
        "spec.schedulerName": _s(spec.get("schedulerName")),
        "spec.serviceAccountName": _s(spec.get("serviceAccountName")),
        "spec.hostNetwork": "true" if spec.get("hostNetwork") is True else "false",
        "status.phase": _s(status.get("phase")),
        "status.podIP": pod_ip,
        "status.nominatedNodeName": _s(status.get("nominatedNodeName")),
        "metadata.name": _s(meta.get("name")),
        "metadata.namespace": _s(meta.get("namespace")),
    }


def _event_fields(obj: dict[str, Any], meta: dict[str, Any]) -> dict[str, str]:
    """pkg/registry/core/event/strategy.go ToSelectableFields (core/v1 field names)."""
    involved = _d(obj, "involvedObject")
    reporting = _s(obj.get("reportingComponent"))
    return {
        "involvedObject.kind": _s(involved.get("kind")),
        "involvedObject.namespace": _s(involved.get("namespace")),
        "involvedObject.name": _s(involved.get("name")),
        "involvedObject.uid": _s(involved.get("uid")),
        "involvedObject.apiVersion": _s(involved.get("apiVersion")),
        "involvedObject.resourceVersion": _s(involved.get("resourceVersion")),
        "involvedObject.fieldPath": _s(involved.get("fieldPath")),
        "reason": _s(obj.get("reason")),
        "reportingComponent": reporting,
        "source": _s(_d(obj, "source").get("component")) or reporting,
        "type": _s(obj.get("type")),
        "metadata.name": _s(meta.get("name")),
        "metadata.namespace": _s(meta.get("namespace")),
    }
