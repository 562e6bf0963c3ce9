"""The downward API: a pod's own fields and its containers' resources as strings, for env vars and volumes.

``fieldRef`` follows the kubelet's podFieldSelectorRuntimeValue and ``fieldpath.ExtractFieldPathAsString``:
`metadata.name`, `metadata.namespace`, `metadata.uid`, `metadata.labels['k']`,
`metadata.annotations['k']`, `spec.nodeName`, `spec.serviceAccountName`, `status.hostIP(s)`,
`status.podIP(s)`; whole `metadata.labels` / `metadata.annotations` (``k="v"`` lines, sorted, values
quoted as Go's %q) only in downwardAPI volumes. ``resourceFieldRef`` follows
``ExtractContainerResourceValue``: limits (defaulted to the node's allocatable when unset, as
defaultPodLimitsForDownwardAPI does) and requests of cpu, memory and ephemeral-storage, divided by the
divisor and rounded up. Pure: the caller passes the pod, the node's allocatable and gets strings, or a
`DownwardError` whose message is the kubelet's.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from podherd.localcluster.kubelet.state import HOST_IP, POD_IP
from podherd.localcluster.validation.defaults import parse_quantity
from podherd.localcluster.validation.fieldcheck import go_quote

_RESOURCES = ("cpu", "memory", "ephemeral-storage")


class DownwardError(Exception):
    """A downward API reference the kubelet cannot resolve (the container gets CreateContainerConfigError)."""


def format_map(m: dict[str, Any]) -> str:
    """fieldpath.FormatMap: ``key="value"`` lines in key order, no trailing newline."""
    return "\n".join(f"{k}={go_quote(str(m[k]))}" for k in sorted(m))


def _subscript(path: str, prefix: str) -> str | None:
    if path.startswith(prefix + "['") and path.endswith("']"):
        return path[len(prefix) + 2 : -2]
    return None


def field_value(pod: dict[str, Any], path: str, whole_maps: bool = False) -> str:
    """The value of `fieldRef.fieldPath` for `pod` (whole label/annotation maps only when `whole_maps`)."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": HOST_IP,
        "status.hostIPs": HOST_IP,
        "status.podIP": POD_IP,
        "status.podIPs": POD_IP,
    }
    if path in simple:
        return str(simple[path] or "")
    for prefix in ("metadata.labels", "metadata.annotations"):
        source = meta.get(prefix.split(".")[1]) or {}
        key = _subscript(path, prefix)
        if key is not None:
            return str(source.get(key, ""))
        if path == prefix and whole_maps:
            return format_map(source)
    raise DownwardError(f'unsupported fieldPath: "{path}"')


def _limit_or_allocatable(container: dict[str, Any], kind: str, name: str, allocatable: dict[str, Any]) -> Decimal:
    resources = container.get("resources") or {}
    value = parse_quantity((resources.get(kind) or {}).get(name))
    if value is None and kind == "limits":
        value = parse_quantity(allocatable.get(name))
    return value if value is not None else Decimal(0)


def resource_value(container: dict[str, Any], ref: dict[str, Any], allocatable: dict[str, Any]) -> str:
    """`resourceFieldRef` for `container`: ceil(value / divisor), cpu counted in millicores as the kubelet does."""
    resource = str(ref.get("resource") or "")
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or name not in _RESOURCES:
        raise DownwardError(f"unsupported container resource : {resource}")
    value = _limit_or_allocatable(container, kind, name, allocatable)
    divisor = parse_quantity(ref.get("divisor")) if ref.get("divisor") not in (None, "", "0") else None
    divisor = divisor if divisor else Decimal(1)
    if name == "cpu":  # MilliValue() on both sides: a divisor below 1m counts as 1m
        have, per = math.ceil(value * 1000), max(math.ceil(divisor * 1000), 1)
        return str(math.ceil(Decimal(have) / Decimal(per)))
    return str(math.ceil(math.ceil(value) / max(math.ceil(divisor), 1)))


def container_named(pod: dict[str, Any], name: str) -> dict[str, Any] | None:
    """A regular or init container of the pod by name."""
    spec = pod.get("spec") or {}
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        if isinstance(c, dict) and c.get("name") == name:
            return c
    return None
