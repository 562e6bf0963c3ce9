"""Server-side printing: the ``as=Table`` and ``as=PartialObjectMetadata[List]`` renderings.

``kubectl get`` asks for ``application/json;as=Table;v=v1;g=meta.k8s.io`` and prints the cells
the server sends; a plain list gets only NAME and AGE (API.md §9). Columns and cells follow
``pkg/printers/internalversion/printers.go`` (always generated "wide", as the server does; kubectl
hides priority-1 columns unless ``-o wide``), and ages use apimachinery's ``duration.HumanDuration``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from podherd.localcluster.apimachinery import errors
from podherd.localcluster.apiserver.columns import AGE_COL as _AGE_COL
from podherd.localcluster.apiserver.columns import CREATED_DOC, human_duration
from podherd.localcluster.apiserver.columns import NAME_COL as _NAME_COL
from podherd.localcluster.apiserver.columns import NAME_DOC as _NAME_DOC
from podherd.localcluster.apiserver.columns import col as _col
from podherd.localcluster.apiserver.columns import since as _since
from podherd.localcluster.apiserver.kindtables import KIND_CELLS, KIND_COLUMNS
from podherd.localcluster.validation.fieldcheck import parse_time

JSONDict = dict[str, Any]
META_V1 = "meta.k8s.io/v1"

# Kinds for includeObject=Object, whose rows carry the full object with its kind and apiVersion.
RESOURCE_KINDS = {
    "pods": ("v1", "Pod"),
    "namespaces": ("v1", "Namespace"),
    "events": ("v1", "Event"),
    "leases": ("coordination.k8s.io/v1", "Lease"),
    "configmaps": ("v1", "ConfigMap"),
    "secrets": ("v1", "Secret"),
    "serviceaccounts": ("v1", "ServiceAccount"),
    "nodes": ("v1", "Node"),
}

COLUMNS: dict[str, list[JSONDict]] = {
    "pods": [
        _NAME_COL,
        _col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        _col("Status", "The aggregate status of the containers in this pod."),
        _col(
            "Restarts",
            "The number of times the containers in this pod have been restarted and when the last container in this "
            "pod has restarted.",
        ),
        _AGE_COL,
        _col("IP", "podIP address allocated to the pod. Routable at least within the cluster.", 1),
        _col("Node", "NodeName indicates in which node this pod is scheduled.", 1),
        _col("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node.", 1),
        _col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", 1),
    ],
    "namespaces": [_NAME_COL, _col("Status", "The status of the namespace"), _AGE_COL],
    "leases": [
        _NAME_COL,
        _col("Holder", "holderIdentity contains the identity of the holder of a current lease."),
        _AGE_COL,
    ],
    "events": [
        _col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
        _col("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
        _col(
            "Reason", "This should be a short, machine understandable string that gives the reason for the transition."
        ),
        _col("Object", "The object that this event is about."),
        _col("Subobject", "If referring to a piece of an object instead of an entire object.", 1),
        _col("Source", "The component reporting this event.", 1),
        _col("Message", "A human-readable description of the status of this operation."),
        _col("First Seen", "The time at which the event was first recorded.", 1),
        _col("Count", "The number of times this event has occurred.", 1),
        _col("Name", _NAME_DOC, 1, "name"),
    ],
}
COLUMNS.update(KIND_COLUMNS)
_DEFAULT_COLUMNS = [_NAME_COL, _col("Created At", CREATED_DOC, type_="date")]


def _d(value: Any) -> JSONDict:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[JSONDict]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _condition_true(status: JSONDict, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in _dicts(status.get("conditions")))


def _state(cs: JSONDict, which: str) -> JSONDict | None:
    """A container state (waiting/running/terminated) or None: Go's nil pointer."""
    value = _d(cs.get("state")).get(which)
    return value if isinstance(value, dict) else None


def _terminated_reason(term: JSONDict) -> str:
    if term.get("reason"):
        return str(term["reason"])
    return f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode') or 0}"


def _last_finished(cs: JSONDict) -> datetime | None:
    return parse_time(_d(_d(cs.get("lastState")).get("terminated")).get("finishedAt"))


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None or (b is not None and b > a) else a


def pod_status_text(pod: JSONDict) -> tuple[int, int, str, int, datetime | None]:
    """printPod's aggregate: (ready, total, STATUS, restarts, last restart time)."""
    spec, status, meta = _d(pod.get("spec")), _d(pod.get("status")), _d(pod.get("metadata"))
    inits = _dicts(spec.get("initContainers"))
    restartable = {c.get("name") for c in inits if c.get("restartPolicy") == "Always"}
    total = len(_dicts(spec.get("containers"))) + len([c for c in inits if c.get("restartPolicy") == "Always"])
    phase = str(status.get("phase") or "")
    reason = str(status.get("reason") or phase)
    for cond in _dicts(status.get("conditions")):
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    ready = restarts = sidecar_restarts = 0
    last: datetime | None = None
    sidecar_last: datetime | None = None
    initializing = False
    for i, cs in enumerate(_dicts(status.get("initContainerStatuses"))):
        count = int(cs.get("restartCount") or 0)
        restarts += count
        last = _later(last, _last_finished(cs))
        sidecar = cs.get("name") in restartable
        if sidecar:
            sidecar_restarts += count
            sidecar_last = _later(sidecar_last, _last_finished(cs))
        term, wait = _state(cs, "terminated"), _state(cs, "waiting")
        if term is not None and not term.get("exitCode"):
            continue
        if sidecar and cs.get("started") is True:
            ready += 1 if cs.get("ready") else 0
            continue
        if term is not None:
            reason = "Init:" + _terminated_reason(term)
        elif wait is not None and wait.get("reason") and wait.get("reason") != "PodInitializing":
            reason = f"Init:{wait['reason']}"
        else:
            reason = f"Init:{i}/{len(inits)}"
        initializing = True
        break
    if not initializing or _condition_true(status, "Initialized"):
        restarts, last = sidecar_restarts, sidecar_last
        has_running = False
        for cs in reversed(_dicts(status.get("containerStatuses"))):
            restarts += int(cs.get("restartCount") or 0)
            last = _later(last, _last_finished(cs))
            term, wait = _state(cs, "terminated"), _state(cs, "waiting")
            if wait is not None and wait.get("reason"):
                reason = str(wait["reason"])
            elif term is not None:
                reason = _terminated_reason(term)
            elif cs.get("ready") and _state(cs, "running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(status, "Ready") else "NotReady"
    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return ready, total, reason, restarts, last


def _pod_row(pod: JSONDict, now: datetime) -> tuple[list[Any], list[JSONDict]]:
    spec, status, meta = _d(pod.get("spec")), _d(pod.get("status")), _d(pod.get("metadata"))
    ready, total, reason, restarts, last = pod_status_text(pod)
    restarts_text = f"{restarts} ({human_duration(now - last)} ago)" if restarts and last else str(restarts)
    ips = _dicts(status.get("podIPs"))
    gates = "<none>"
    if _dicts(spec.get("readinessGates")):
        wanted = [g.get("conditionType") for g in _dicts(spec.get("readinessGates"))]
        true = sum(1 for t in wanted if _condition_true(status, str(t)))
        gates = f"{true}/{len(wanted)}"
    cells = [
        meta.get("name", ""),
        f"{ready}/{total}",
        reason,
        restarts_text,
        _since(meta.get("creationTimestamp"), now),
        (ips[0].get("ip") if ips else status.get("podIP")) or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        gates,
    ]
    conditions = []
    if status.get("phase") == "Succeeded":
        conditions = [_completed("Succeeded", "The pod has completed successfully.")]
    elif status.get("phase") == "Failed":
        conditions = [_completed("Failed", "The pod failed.")]
    return cells, conditions


def _completed(reason: str, message: str) -> JSONDict:
    return {"type": "Completed", "status": "True", "reason": reason, "message": message}


def _event_cells(ev: JSONDict, now: datetime) -> list[Any]:
    """printEvent (wide)."""
    involved, source, series = _d(ev.get("involvedObject")), _d(ev.get("source")), _d(ev.get("series"))
    first = _since(ev.get("firstTimestamp") or ev.get("eventTime"), now)
    last = _since(ev.get("lastTimestamp"), now) if ev.get("lastTimestamp") else first
    count = ev.get("count") or 0
    if series:
        last, count = _since(series.get("lastObservedTime"), now), series.get("count") or 0
    elif not count:
        count = 1  # singleton events have no count in the new API
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    component = source.get("component") or ev.get("reportingComponent") or ""
    instance = source.get("host") or ev.get("reportingInstance") or ""
    return [
        last,
        ev.get("type", ""),
        ev.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        f"{component}, {instance}" if instance else component,
        str(ev.get("message") or "").strip(),
        first,
        count,
        _d(ev.get("metadata")).get("name", ""),
    ]


def _cells(resource: str, obj: JSONDict, now: datetime) -> tuple[list[Any], list[JSONDict]]:
    meta = _d(obj.get("metadata"))
    age = _since(meta.get("creationTimestamp"), now)
    if resource == "pods":
        return _pod_row(obj, now)
    if resource == "namespaces":
        return [meta.get("name", ""), _d(obj.get("status")).get("phase", ""), age], []
    if resource == "leases":
        return [meta.get("name", ""), _d(obj.get("spec")).get("holderIdentity") or "", age], []
    if resource == "events":
        return _event_cells(obj, now), []
    if resource in KIND_CELLS:
        return KIND_CELLS[resource](obj, now), []
    return [meta.get("name", ""), meta.get("creationTimestamp")], []


def to_partial_metadata(obj: dict, api_version: str, kind: str) -> dict:
    """The ``as=PartialObjectMetadata`` form: only the object's metadata, under meta.k8s.io's kind.

    ``api_version`` and ``kind`` name the source object's type; PartialObjectMetadata does not carry them.
    The metadata is a new dict, but its values (labels, annotations, managedFields, ...) are the stored
    object's own: stored objects are never modified (see `store`), and the result is only serialised.
    """
    return {"kind": "PartialObjectMetadata", "apiVersion": META_V1, "metadata": dict(_d(obj.get("metadata")))}


def partial_metadata_list(items: list[dict], list_meta: dict) -> dict:
    """The ``as=PartialObjectMetadataList`` form of a list."""
    return {
        "kind": "PartialObjectMetadataList",
        "apiVersion": META_V1,
        "metadata": dict(list_meta),
        "items": [to_partial_metadata(i, "", "") for i in items],
    }


def _row_object(resource: str, obj: JSONDict, include_object: str) -> JSONDict | None:
    """The row's ``object`` per ``includeObject`` (handlers/response.go asTable)."""
    if include_object in ("Metadata", ""):
        return to_partial_metadata(obj, "", "")
    if include_object == "Object":
        api_version, kind = RESOURCE_KINDS.get(resource, (obj.get("apiVersion"), obj.get("kind")))
        body = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
        return {"kind": kind, "apiVersion": api_version, **body}  # shares the stored values, as above
    return None


def table(resource: str, items: list[dict], list_meta: dict, now: datetime, include_object: str = "Metadata") -> dict:
    """A meta.k8s.io/v1 Table of `items`; unknown resources get the default Name / Created At table.

    With ``include_object="None"`` each row's object is JSON null, as Go serialises an empty
    RawExtension. An unknown value raises a 400 ApiError.
    """
    if include_object not in ("Metadata", "Object", "None", ""):
        raise errors.bad_request(f'unrecognized includeObject value: "{include_object}"')
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    rows = []
    for obj in items:
        cells, conditions = _cells(resource, obj, now)
        row: JSONDict = {"cells": cells}
        if conditions:
            row["conditions"] = conditions
        row["object"] = _row_object(resource, obj, include_object)
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": META_V1,
        "metadata": dict(list_meta),
        "columnDefinitions": [dict(c) for c in COLUMNS.get(resource, _DEFAULT_COLUMNS)],  # flat dicts: a full copy
        "rows": rows,
    }
