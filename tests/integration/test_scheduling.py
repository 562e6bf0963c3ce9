"""Pods with a nodeSelector, node affinity or tolerations against node `local`, as the scheduler would place them.

These tests change the node (labels, taints, cordon), so they run on a cluster of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from podherd.localcluster.apiserver.server import ClusterConfig, LocalCluster
from tests.integration.conftest import pod_manifest, wait_for

NS = "default"
PREEMPTION = "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    d: Path = tmp_path_factory.mktemp("sched")
    with LocalCluster(ClusterConfig(mode="process", kubeconfig=d / "kubeconfig")) as c:
        yield c


@pytest.fixture
def api(own_cluster: LocalCluster) -> Iterator[client.CoreV1Api]:
    core = client.CoreV1Api(own_cluster.api_client())
    yield core
    node = core.read_node("local")
    labels = {k: None for k in node.metadata.labels or {} if k.startswith("example.com/")}
    core.patch_node("local", {"metadata": {"labels": labels}, "spec": {"taints": None, "unschedulable": None}})
    core.delete_collection_namespaced_pod(NS, grace_period_seconds=0)


def phase(core: client.CoreV1Api, name: str) -> str:
    return core.read_namespaced_pod(name, NS).status.phase


def scheduled_condition(core: client.CoreV1Api, name: str) -> Any:
    conditions = core.read_namespaced_pod(name, NS).status.conditions or []
    return next((c for c in conditions if c.type == "PodScheduled"), None)


def wait_unschedulable(core: client.CoreV1Api, name: str) -> str:
    cond = wait_for(lambda: scheduled_condition(core, name), what="a PodScheduled condition")
    assert cond.status == "False" and cond.reason == "Unschedulable"
    assert phase(core, name) == "Pending" and not core.read_namespaced_pod(name, NS).spec.node_name
    events = core.list_namespaced_event(NS, field_selector=f"involvedObject.name={name},reason=FailedScheduling")
    assert [e.reporting_component for e in events.items] == ["default-scheduler"]
    assert events.items[0].type == "Warning" and events.items[0].message == cond.message
    return cond.message


def test_a_selector_the_node_matches_runs(api: client.CoreV1Api) -> None:
    arch = api.read_node("local").metadata.labels["kubernetes.io/arch"]
    selector = {"kubernetes.io/hostname": "local", "kubernetes.io/os": "linux", "kubernetes.io/arch": arch}
    api.create_namespaced_pod(NS, pod_manifest("fits", nodeSelector=selector))
    wait_for(lambda: phase(api, "fits") == "Succeeded", what="pod Succeeded")
    assert api.read_namespaced_pod("fits", NS).spec.node_name == "local"
    assert scheduled_condition(api, "fits").status == "True"


def test_a_selector_the_node_does_not_match_stays_pending_until_the_node_is_labelled(api: client.CoreV1Api) -> None:
    api.create_namespaced_pod(NS, pod_manifest("picky", nodeSelector={"example.com/disk": "ssd"}))
    message = wait_unschedulable(api, "picky")
    assert message == f"0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. {PREEMPTION}"
    api.patch_node("local", {"metadata": {"labels": {"example.com/disk": "ssd"}}})
    wait_for(lambda: phase(api, "picky") == "Succeeded", what="pod scheduled and Succeeded")
    assert scheduled_condition(api, "picky").status == "True"


def test_required_node_affinity(api: client.CoreV1Api) -> None:
    def affinity(op: str, values: list[str]) -> dict[str, Any]:
        expr = {"key": "kubernetes.io/hostname", "operator": op, "values": values}
        terms = [{"matchExpressions": [expr]}]
        return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}

    api.create_namespaced_pod(NS, pod_manifest("in", affinity=affinity("In", ["local", "other"])))
    api.create_namespaced_pod(NS, pod_manifest("notin", affinity=affinity("NotIn", ["local"])))
    wait_for(lambda: phase(api, "in") == "Succeeded", what="pod 'in' Succeeded")
    assert "didn't match Pod's node affinity/selector" in wait_unschedulable(api, "notin")


def test_taints_tolerations_and_cordon(api: client.CoreV1Api) -> None:
    api.patch_node("local", {"spec": {"taints": [{"key": "example.com/gpu", "value": "yes", "effect": "NoSchedule"}]}})
    api.create_namespaced_pod(NS, pod_manifest("plain"))
    toleration = {"key": "example.com/gpu", "operator": "Equal", "value": "yes", "effect": "NoSchedule"}
    api.create_namespaced_pod(NS, pod_manifest("tolerant", tolerations=[toleration]))
    assert "1 node(s) had untolerated taint {example.com/gpu: yes}." in wait_unschedulable(api, "plain")
    wait_for(lambda: phase(api, "tolerant") == "Succeeded", what="tolerating pod Succeeded")
    api.patch_node("local", {"spec": {"taints": None, "unschedulable": True}})  # kubectl cordon
    api.create_namespaced_pod(NS, pod_manifest("cordoned"))
    assert "1 node(s) were unschedulable." in wait_unschedulable(api, "cordoned")
    api.patch_node("local", {"spec": {"unschedulable": None}})  # kubectl uncordon
    wait_for(lambda: phase(api, "cordoned") == "Succeeded", what="pod scheduled after uncordon")
    wait_for(lambda: phase(api, "plain") == "Succeeded", what="pod scheduled once the taint is gone")


def test_a_pod_created_bound_to_the_node_is_rejected_by_kubelet_admission(api: client.CoreV1Api) -> None:
    api.create_namespaced_pod(NS, pod_manifest("bound", nodeName="local", nodeSelector={"example.com/zone": "b"}))
    wait_for(lambda: phase(api, "bound") == "Failed", what="pod Failed")
    status = api.read_namespaced_pod("bound", NS).status
    assert status.reason == "NodeAffinity"
    assert (
        status.message
        == "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"
    )


def test_deleting_an_unschedulable_pod(api: client.CoreV1Api) -> None:
    api.create_namespaced_pod(NS, pod_manifest("never", nodeSelector={"example.com/none": "x"}))
    wait_unschedulable(api, "never")
    out = api.delete_namespaced_pod("never", NS)  # unscheduled: grace forced to 0, removed at once
    assert out.metadata.deletion_grace_period_seconds == 0
    assert [p.metadata.name for p in api.list_namespaced_pod(NS).items if p.metadata.name == "never"] == []
