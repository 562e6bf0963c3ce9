"""The default scheduler's filters for the one node, and the kubelet's admission check of a bound pod.

The embedded kubelet binds every pending pod to its node itself; this module decides whether the
node fits, with the filter plugins a pod-using client meets and in the scheduler's order:
NodeUnschedulable (a cordoned node), TaintToleration (NoSchedule/NoExecute taints), NodeAffinity
(``nodeSelector`` and required ``nodeAffinity``). The first that fails names the reason, worded as
the scheduler's FitError: ``0/1 nodes are available: 1 node(s) didn't match Pod's node
affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.``
A pod that does not fit stays Pending with PodScheduled False (reason Unschedulable) and a
FailedScheduling event, and is tried again when the node changes. A pod created already bound to
the node goes through the kubelet's own admission instead (NodeAffinity and NoExecute taints only),
which fails it as ``Pod was rejected: Predicate NodeAffinity failed: ...``. Pure functions only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JSONDict = Mapping[str, Any]

UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
REASON_UNSCHEDULABLE = "node(s) were unschedulable"
REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
NO_NODES = "no nodes available to schedule pods"
PREEMPTION = "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."


def _d(value: Any) -> JSONDict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[JSONDict]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def tolerates(toleration: JSONDict, taint: JSONDict) -> bool:
    """Toleration.ToleratesTaint: an empty effect or key matches any; operator Exists ignores the value."""
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("key") and toleration.get("key") != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taint(pod: JSONDict, node: JSONDict, effects: tuple[str, ...]) -> JSONDict | None:
    """The first taint of the node with one of `effects` that no toleration of the pod tolerates."""
    tolerations = _list(_d(pod.get("spec")).get("tolerations"))
    for taint in _list(_d(node.get("spec")).get("taints")):
        if taint.get("effect") in effects and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def _requirement(expr: JSONDict, value: str | None) -> bool:
    """A NodeSelectorRequirement against one label (or field) value; None when absent."""
    op, values = expr.get("operator"), [str(v) for v in expr.get("values") or []]
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and len(values) == 1:
        try:
            have, want = int(value), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def _term_matches(term: JSONDict, labels: Mapping[str, str], name: str) -> bool:
    """A NodeSelectorTerm: all its expressions and fields; a term with neither matches nothing."""
    exprs, fields = _list(term.get("matchExpressions")), _list(term.get("matchFields"))
    if not exprs and not fields:
        return False
    if not all(_requirement(e, labels.get(str(e.get("key")))) for e in exprs):
        return False
    return all(_requirement(f, name if f.get("key") == "metadata.name" else None) for f in fields)


def matches_node_affinity(pod: JSONDict, node: JSONDict) -> bool:
    """nodeSelector (every label equal) and requiredDuringSchedulingIgnoredDuringExecution (any term)."""
    spec, meta = _d(pod.get("spec")), _d(node.get("metadata"))
    labels = {str(k): str(v) for k, v in _d(meta.get("labels")).items()}
    if any(labels.get(str(k)) != str(v) for k, v in _d(spec.get("nodeSelector")).items()):
        return False
    required = _d(
        _d(_d(spec.get("affinity")).get("nodeAffinity")).get("requiredDuringSchedulingIgnoredDuringExecution")
    )
    terms = required.get("nodeSelectorTerms")
    if not required or not isinstance(terms, list):
        return True
    return any(_term_matches(t, labels, str(meta.get("name") or "")) for t in _list(terms))


def filter_reason(pod: JSONDict, node: JSONDict) -> str:
    """Why the scheduler filters the node out for the pod ("" when it fits): the first failing plugin's reason."""
    if _d(node.get("spec")).get("unschedulable") is True:
        cordon = {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}
        if not any(tolerates(t, cordon) for t in _list(_d(pod.get("spec")).get("tolerations"))):
            return REASON_UNSCHEDULABLE
    taint = untolerated_taint(pod, node, ("NoSchedule", "NoExecute"))
    if taint is not None:
        return f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value') or ''}}}"
    if not matches_node_affinity(pod, node):
        return REASON_AFFINITY
    return ""


def fit_error(reason: str) -> str:
    """The scheduler's FitError message for one node filtered out for `reason`."""
    return f"0/1 nodes are available: 1 {reason}. {PREEMPTION}"


def admission_failure(pod: JSONDict, node: JSONDict) -> tuple[str, str]:
    """The kubelet's generalFilter for a pod bound to it: (predicate, message), or ("", "") to admit."""
    if not matches_node_affinity(pod, node):
        return "NodeAffinity", f"Predicate NodeAffinity failed: {REASON_AFFINITY}"
    if untolerated_taint(pod, node, ("NoExecute",)) is not None:
        return "TaintToleration", "Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate"
    return "", ""


def unschedulable_status(status: JSONDict, message: str, now: str) -> dict[str, Any]:
    """The pod status the scheduler writes for a pod it cannot place: Pending, PodScheduled False."""
    conditions = [c for c in _list(status.get("conditions")) if c.get("type") != "PodScheduled"]
    old = next((c for c in _list(status.get("conditions")) if c.get("type") == "PodScheduled"), {})
    ltt = old.get("lastTransitionTime") if old.get("status") == "False" else None
    conditions.append(
        {
            "type": "PodScheduled",
            "status": "False",
            "lastProbeTime": None,
            "lastTransitionTime": ltt or now,
            "reason": "Unschedulable",
            "message": message,
        }
    )
    return {**status, "phase": status.get("phase") or "Pending", "conditions": conditions}


def forget_unscheduled(status: JSONDict) -> JSONDict:
    """A status about to be bound: a PodScheduled False from an earlier attempt is dropped (binding sets True)."""
    conditions = _list(status.get("conditions"))
    if not any(c.get("type") == "PodScheduled" and c.get("status") != "True" for c in conditions):
        return status
    return {**status, "conditions": [c for c in conditions if c.get("type") != "PodScheduled"]}
