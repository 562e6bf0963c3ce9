"""Selectable fields per resource and the field-label conversion's 400s (API.md §2)."""

from __future__ import annotations

from typing import Any

import pytest

from podherd.localcluster.apimachinery.errors import ApiError
from podherd.localcluster.registry.fields import check_field_selector, selectable_fields
from podherd.localcluster.selectors.field import FieldSelector, FieldTerm, parse_field_selector

POD: dict[str, Any] = {
    "metadata": {"name": "task-1", "namespace": "jobs", "uid": "u-1", "labels": {"app": "podherd"}},
    "spec": {
        "nodeName": "node1",
        "restartPolicy": "Never",
        "schedulerName": "default-scheduler",
        "serviceAccountName": "default",
        "containers": [{"name": "main", "image": "busybox"}],
    },
    "status": {
        "phase": "Running",
        "podIP": "10.0.0.7",
        "podIPs": [{"ip": "10.0.0.7"}, {"ip": "fd00::7"}],
        "hostIP": "192.168.1.2",
    },
}

EVENT: dict[str, Any] = {
    "metadata": {"name": "task-1.17f0a1b2c3d4e5f6", "namespace": "jobs"},
    "involvedObject": {
        "kind": "Pod",
        "namespace": "jobs",
        "name": "task-1",
        "uid": "u-1",
        "apiVersion": "v1",
        "resourceVersion": "42",
        "fieldPath": "spec.containers{main}",
    },
    "reason": "Started",
    "message": "Started container main",
    "source": {"component": "kubelet", "host": "node1"},
    "firstTimestamp": "2025-01-01T00:00:00Z",
    "lastTimestamp": "2025-01-01T00:00:00Z",
    "count": 1,
    "type": "Normal",
    "eventTime": None,
    "reportingComponent": "kubelet",
    "reportingInstance": "node1",
}


def _match(resource: str, selector: str, obj: dict[str, Any]) -> bool:
    sel = check_field_selector(resource, parse_field_selector(selector))
    return sel.matches(selectable_fields(resource, obj))


def _bad_request(resource: str, selector: str) -> ApiError:
    with pytest.raises(ApiError) as info:
        check_field_selector(resource, parse_field_selector(selector))
    assert info.value.code == 400
    assert info.value.reason == "BadRequest"
    return info.value


def test_pod_fields() -> None:
    assert selectable_fields("pods", POD) == {
        "metadata.name": "task-1",
        "metadata.namespace": "jobs",
        "spec.nodeName": "node1",
        "spec.restartPolicy": "Never",
        "spec.schedulerName": "default-scheduler",
        "spec.serviceAccountName": "default",
        "spec.hostNetwork": "false",
        "status.phase": "Running",
        "status.podIP": "10.0.0.7",
        "status.nominatedNodeName": "",
    }


def test_pod_field_defaults_and_variants() -> None:
    bare = selectable_fields("pods", {"metadata": {"name": "p", "namespace": "d"}})
    assert bare["spec.nodeName"] == "" and bare["status.phase"] == "" and bare["status.podIP"] == ""
    assert bare["spec.hostNetwork"] == "false"
    host_net = {**POD, "spec": {**POD["spec"], "hostNetwork": True}}
    assert selectable_fields("pods", host_net)["spec.hostNetwork"] == "true"
    only_ips = {**POD, "status": {"phase": "Running", "podIPs": [{"ip": "fd00::9"}, {"ip": "10.0.0.9"}]}}
    assert selectable_fields("pods", only_ips)["status.podIP"] == "fd00::9"
    nominated = {**POD, "status": {"nominatedNodeName": "node2", "phase": "Pending"}}
    assert selectable_fields("pods", nominated)["status.nominatedNodeName"] == "node2"
    assert selectable_fields("pods", {"metadata": {"name": None}, "spec": None})["metadata.name"] == ""


def test_pod_selectors_match() -> None:
    assert _match("pods", "metadata.name=task-1", POD)
    assert _match("pods", "spec.nodeName=node1,status.phase=Running", POD)
    assert not _match("pods", "status.phase!=Running", POD)
    assert _match("pods", "spec.hostNetwork=false", POD)
    assert _match("pods", "status.podIP=10.0.0.7", POD)
    assert _match("pods", "spec.nodeName=", {"metadata": {"name": "unscheduled"}})


def test_pod_ips_field_is_accepted_but_never_set() -> None:
    # ToSelectableFields never fills status.podIPs, so on a real server it compares as "".
    assert not _match("pods", "status.podIPs=10.0.0.7", POD)
    assert _match("pods", "status.podIPs=", POD)


def test_spec_host_alias() -> None:
    checked = check_field_selector("pods", parse_field_selector("spec.host=node1,status.phase!=Failed"))
    assert str(checked) == "spec.nodeName=node1,status.phase!=Failed"
    assert checked.terms[0] == FieldTerm("spec.nodeName", "=", "node1")
    assert checked.matches(selectable_fields("pods", POD))
    assert not _match("pods", "spec.host=node2", POD)
    # the alias exists only for pods
    assert _bad_request("events", "spec.host=node1").message == "field label not supported: spec.host"


def test_pod_unknown_field_status_body() -> None:
    err = _bad_request("pods", "spec.foo=bar")
    assert err.to_status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "field label not supported: spec.foo",
        "reason": "BadRequest",
        "code": 400,
    }
    assert _bad_request("pods", "status.hostIP=1.2.3.4").message == "field label not supported: status.hostIP"
    # terms are checked in the selector's (sorted) order, like Transform()
    assert _bad_request("pods", "z.bad=1,a.bad=2").message == "field label not supported: a.bad"


def test_event_fields() -> None:
    assert selectable_fields("events", EVENT) == {
        "involvedObject.kind": "Pod",
        "involvedObject.namespace": "jobs",
        "involvedObject.name": "task-1",
        "involvedObject.uid": "u-1",
        "involvedObject.apiVersion": "v1",
        "involvedObject.resourceVersion": "42",
        "involvedObject.fieldPath": "spec.containers{main}",
        "reason": "Started",
        "reportingComponent": "kubelet",
        "source": "kubelet",
        "type": "Normal",
        "metadata.name": "task-1.17f0a1b2c3d4e5f6",
        "metadata.namespace": "jobs",
    }


def test_event_source_falls_back_to_reporting_component() -> None:
    event = {**EVENT, "source": {}, "reportingComponent": "podherd-executor"}
    assert selectable_fields("events", event)["source"] == "podherd-executor"
    assert selectable_fields("events", {"metadata": {"name": "e"}})["source"] == ""


def test_kubectl_describe_event_selector() -> None:
    selector = "involvedObject.uid=u-1,involvedObject.name=task-1,involvedObject.namespace=jobs"
    assert _match("events", selector, EVENT)
    assert not _match("events", selector.replace("u-1", "u-2"), EVENT)
    assert _match("events", "type=Normal,reason=Started,source=kubelet,reportingComponent=kubelet", EVENT)
    assert _bad_request("events", "message=x").message == "field label not supported: message"


def test_namespace_fields() -> None:
    ns = {"metadata": {"name": "jobs"}, "status": {"phase": "Active"}}
    assert selectable_fields("namespaces", ns) == {"metadata.name": "jobs", "status.phase": "Active"}
    assert _match("namespaces", "status.phase=Active,metadata.name=jobs", ns)
    # Namespace's conversion func does not list metadata.namespace
    assert _bad_request("namespaces", "metadata.namespace=x").message == "field label not supported: metadata.namespace"


def test_lease_and_other_kinds_use_the_default_conversion() -> None:
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "podherd-leader", "namespace": "jobs"},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15},
    }
    assert selectable_fields("leases", lease) == {"metadata.name": "podherd-leader", "metadata.namespace": "jobs"}
    assert _match("leases", "metadata.name=podherd-leader,metadata.namespace=jobs", lease)
    err = _bad_request("leases", "spec.holderIdentity=a")
    assert (
        err.message == '"spec.holderIdentity" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )
    assert _bad_request("configmaps", "spec.x=1").message == (
        '"spec.x" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )
    assert _bad_request("leases", "spec.host=n").message.startswith('"spec.host" is not a known field selector')


def test_check_keeps_valid_selectors_intact() -> None:
    sel = parse_field_selector("metadata.name!=a,metadata.namespace==b")
    checked = check_field_selector("leases", sel)
    assert checked == sel
    assert check_field_selector("pods", FieldSelector()).empty()
