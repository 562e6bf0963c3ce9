"""kubelet.scheduling: the scheduler's filters and the kubelet's admission, as pure functions of pod and node."""

from __future__ import annotations

from typing import Any

import pytest

from podherd.localcluster.kubelet.scheduling import (
    admission_failure,
    filter_reason,
    fit_error,
    forget_unscheduled,
    matches_node_affinity,
    tolerates,
    unschedulable_status,
)

NODE: dict[str, Any] = {
    "metadata": {"name": "local", "labels": {"kubernetes.io/hostname": "local", "gen": "5", "zone": "a"}},
    "spec": {},
}


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}], **spec}}


def affinity(*terms: dict[str, Any]) -> dict[str, Any]:
    required = {"nodeSelectorTerms": list(terms)}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}


def expr(key: str, op: str, *values: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": key, "operator": op, "values": list(values)}]}


@pytest.mark.parametrize(
    ("spec", "fits"),
    [
        ({}, True),
        ({"nodeSelector": {"zone": "a"}}, True),
        ({"nodeSelector": {"zone": "b"}}, False),
        ({"nodeSelector": {"zone": "a", "missing": "x"}}, False),
        ({"affinity": affinity(expr("zone", "In", "a", "b"))}, True),
        ({"affinity": affinity(expr("zone", "NotIn", "a"))}, False),
        ({"affinity": affinity(expr("absent", "NotIn", "a"))}, True),
        ({"affinity": affinity(expr("zone", "Exists"))}, True),
        ({"affinity": affinity(expr("zone", "DoesNotExist"))}, False),
        ({"affinity": affinity(expr("gen", "Gt", "4"))}, True),
        ({"affinity": affinity(expr("gen", "Lt", "4"))}, False),
        ({"affinity": affinity(expr("zone", "Gt", "4"))}, False),  # not an integer
        ({"affinity": affinity(expr("zone", "NotIn", "a"), expr("zone", "In", "a"))}, True),  # terms are ORed
        ({"affinity": affinity({})}, False),  # an empty term matches nothing
        (
            {"affinity": affinity({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["local"]}]})},
            True,
        ),
        ({"affinity": affinity({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["x"]}]})}, False),
        ({"affinity": {"nodeAffinity": {}}}, True),
    ],
)
def test_node_affinity(spec: dict[str, Any], fits: bool) -> None:
    assert matches_node_affinity(pod(**spec), NODE) is fits
    assert (filter_reason(pod(**spec), NODE) == "") is fits


@pytest.mark.parametrize(
    ("toleration", "ok"),
    [
        ({"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}, True),
        ({"key": "k", "value": "v"}, True),  # empty operator is Equal, empty effect any
        ({"key": "k", "value": "w"}, False),
        ({"key": "k", "operator": "Exists"}, True),
        ({"operator": "Exists"}, True),  # empty key with Exists tolerates everything
        ({"key": "k", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "other", "operator": "Exists"}, False),
    ],
)
def test_tolerates(toleration: dict[str, Any], ok: bool) -> None:
    assert tolerates(toleration, {"key": "k", "value": "v", "effect": "NoSchedule"}) is ok


def test_filters_in_the_schedulers_order() -> None:
    tainted = {**NODE, "spec": {"unschedulable": True, "taints": [{"key": "t", "effect": "NoSchedule"}]}}
    assert filter_reason(pod(nodeSelector={"zone": "b"}), tainted) == "node(s) were unschedulable"
    cordon_ok = [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]
    assert filter_reason(pod(tolerations=cordon_ok), tainted) == "node(s) had untolerated taint {t: }"
    prefer = {**NODE, "spec": {"taints": [{"key": "t", "effect": "PreferNoSchedule"}]}}
    assert filter_reason(pod(), prefer) == ""  # a soft taint never filters
    assert fit_error("x") == (
        "0/1 nodes are available: 1 x. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
    )


def test_kubelet_admission_checks_affinity_and_no_execute_only() -> None:
    assert admission_failure(pod(nodeSelector={"zone": "b"}), NODE)[0] == "NodeAffinity"
    no_schedule = {**NODE, "spec": {"taints": [{"key": "t", "effect": "NoSchedule"}], "unschedulable": True}}
    assert admission_failure(pod(), no_schedule) == ("", "")
    no_execute = {**NODE, "spec": {"taints": [{"key": "t", "effect": "NoExecute"}]}}
    assert admission_failure(pod(), no_execute)[0] == "TaintToleration"


def test_unschedulable_status_keeps_the_first_transition_and_forget_drops_it() -> None:
    first = unschedulable_status({"phase": "Pending", "qosClass": "BestEffort"}, "m1", "T1")
    again = unschedulable_status(first, "m2", "T2")
    cond = again["conditions"][-1]
    assert (cond["status"], cond["reason"], cond["message"], cond["lastTransitionTime"]) == (
        "False",
        "Unschedulable",
        "m2",
        "T1",
    )
    assert again["qosClass"] == "BestEffort" and again["phase"] == "Pending"
    assert forget_unscheduled(again)["conditions"] == []
    bound = {"conditions": [{"type": "PodScheduled", "status": "True"}]}
    assert forget_unscheduled(bound) is bound
