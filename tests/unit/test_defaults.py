"""Create-time pod defaults (API.md §7) and the QoS class."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from podherd.localcluster.validation.defaults import (
    default_pod,
    default_pod_spec,
    default_pull_policy,
    parse_quantity,
    qos_class,
    with_default_tolerations,
)

SHA = "sha256:" + "c" * 64


def pod(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": list(containers) or [{"name": "c", "image": "busybox:1.36"}], **spec},
    }


def res(limits: dict[str, Any] | None = None, requests: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if limits is not None:
        out["limits"] = limits
    if requests is not None:
        out["requests"] = requests
    return out


def test_pod_spec_defaults() -> None:
    out = default_pod(pod())
    spec = out["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["securityContext"] == {}
    assert spec["enableServiceLinks"] is True
    assert spec["serviceAccountName"] == "default" and spec["serviceAccount"] == "default"
    assert spec["priority"] == 0
    assert spec["preemptionPolicy"] == "PreemptLowerPriority"
    assert spec["tolerations"] == [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
    ]
    c = spec["containers"][0]
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert c["terminationMessagePolicy"] == "File"
    assert c["resources"] == {}
    assert c["imagePullPolicy"] == "IfNotPresent"


def test_explicit_values_are_kept_and_input_not_mutated() -> None:
    body = pod(
        {
            "name": "c",
            "image": "busybox",
            "imagePullPolicy": "Never",
            "terminationMessagePolicy": "FallbackToLogsOnError",
        },
        restartPolicy="Never",
        terminationGracePeriodSeconds=0,
        dnsPolicy="Default",
        serviceAccountName="robot",
        enableServiceLinks=False,
    )
    before = copy.deepcopy(body)
    spec = default_pod(body)["spec"]
    assert body == before
    assert spec["restartPolicy"] == "Never"
    assert spec["terminationGracePeriodSeconds"] == 0
    assert spec["dnsPolicy"] == "Default"
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "robot"
    assert spec["enableServiceLinks"] is False
    assert spec["containers"][0]["imagePullPolicy"] == "Never"
    assert spec["containers"][0]["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_deprecated_service_account_fills_the_name() -> None:
    spec = default_pod(pod(serviceAccount="legacy"))["spec"]
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "legacy"


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("busybox", "Always"),
        ("busybox:latest", "Always"),
        ("ghcr.io/a/b", "Always"),
        ("busybox:1.36", "IfNotPresent"),
        ("busybox@" + SHA, "IfNotPresent"),
        ("busybox:latest@" + SHA, "Always"),  # the tag still says latest
        ("localhost:5000/x:dev", "IfNotPresent"),
        ("NOT VALID", "IfNotPresent"),  # unparsable: no tag known, so not Always
        ("", "IfNotPresent"),
    ],
)
def test_image_pull_policy(image: str, policy: str) -> None:
    assert default_pull_policy(image) == policy
    c = default_pod(pod({"name": "c", "image": image}))["spec"]["containers"][0]
    assert c["imagePullPolicy"] == policy


def test_init_containers_are_defaulted_too() -> None:
    body = pod(initContainers=[{"name": "i", "image": "alpine"}])
    init = default_pod(body)["spec"]["initContainers"][0]
    assert init["imagePullPolicy"] == "Always"
    assert init["terminationMessagePolicy"] == "File"


def test_requests_default_to_limits_key_by_key() -> None:
    body = pod({"name": "c", "image": "x:1", "resources": res({"cpu": "1", "memory": "1Gi"}, {"cpu": "500m"})})
    r = default_pod(body)["spec"]["containers"][0]["resources"]
    assert r["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert r["limits"] == {"cpu": "1", "memory": "1Gi"}


def test_client_status_is_discarded() -> None:
    body = pod()
    body["status"] = {"phase": "Running", "podIP": "10.0.0.9", "qosClass": "Guaranteed"}
    assert default_pod(body)["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


def test_existing_noexecute_tolerations_are_respected() -> None:
    everything = [{"operator": "Exists"}]
    assert with_default_tolerations(everything) == everything
    mine = [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}
    ]
    out = with_default_tolerations(mine)
    assert out[0] == mine[0] and len(out) == 2 and out[1]["key"] == "node.kubernetes.io/unreachable"
    no_schedule = [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}]
    assert len(with_default_tolerations(no_schedule)) == 3


def test_ports_probes_volumes_and_field_refs() -> None:
    c = {
        "name": "c",
        "image": "x:1",
        "ports": [{"containerPort": 80}],
        "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "livenessProbe": {"httpGet": {"port": 80}},
    }
    spec = default_pod_spec(
        {
            "containers": [c],
            "hostNetwork": True,
            "volumes": [{"name": "scratch"}, {"name": "s", "secret": {"secretName": "x"}}],
        }
    )
    out = spec["containers"][0]
    assert out["ports"] == [{"containerPort": 80, "protocol": "TCP", "hostPort": 80}]
    assert out["env"][0]["valueFrom"]["fieldRef"] == {"fieldPath": "metadata.name", "apiVersion": "v1"}
    probe = out["livenessProbe"]
    assert probe["httpGet"] == {"port": 80, "path": "/", "scheme": "HTTP"}
    assert (probe["timeoutSeconds"], probe["periodSeconds"], probe["successThreshold"], probe["failureThreshold"]) == (
        1,
        10,
        1,
        3,
    )
    assert spec["volumes"][0] == {"name": "scratch", "emptyDir": {}}
    assert spec["volumes"][1]["secret"]["defaultMode"] == 420


def test_keys_follow_go_struct_order() -> None:
    out = default_pod(pod({"imagePullPolicy": "Always", "image": "x", "name": "c"}))
    assert list(out) == ["metadata", "spec", "status"]
    assert list(out["spec"]["containers"][0])[:2] == ["name", "image"]
    keys = list(out["spec"])
    assert keys.index("containers") < keys.index("restartPolicy") < keys.index("schedulerName")


def test_bad_types_do_not_crash() -> None:
    for spec in ("nope", {"containers": "x"}, {"containers": [1, None, {"name": 3, "image": 4, "resources": 5}]}):
        out = default_pod({"metadata": {}, "spec": spec})
        assert out["status"]["phase"] == "Pending"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", Decimal(1)),
        ("500m", Decimal("0.5")),
        ("1.5", Decimal("1.5")),
        (".5", Decimal("0.5")),
        ("1Ki", Decimal(1024)),
        ("2Gi", Decimal(2 * 1024**3)),
        ("1k", Decimal(1000)),
        ("1M", Decimal(10**6)),
        ("1E", Decimal(10**18)),
        ("1e3", Decimal(1000)),
        ("1E3", Decimal(1000)),
        ("5e-3", Decimal("0.005")),
        ("-1", Decimal(-1)),
        ("100n", Decimal("1E-7")),
        (2, Decimal(2)),
        (0.25, Decimal("0.25")),
    ],
)
def test_parse_quantity(text: Any, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "1K", "1ki", "1 Gi", "Gi", "1e", "1.2.3", "abc", "1Gib", True, None, [], "1e3m"])
def test_parse_quantity_rejects(text: Any) -> None:
    assert parse_quantity(text) is None


@pytest.mark.parametrize(
    ("containers", "qos"),
    [
        ([{}], "BestEffort"),
        ([res({"cpu": "1", "memory": "1Gi"})], "Guaranteed"),
        ([res({"cpu": "1", "memory": "1Gi"}, {"cpu": "1000m", "memory": "1024Mi"})], "Guaranteed"),
        ([res({"cpu": "1", "memory": "1Gi"}, {"cpu": "500m"})], "Burstable"),
        ([res({"cpu": "1"})], "Burstable"),
        ([res(requests={"memory": "10Mi"})], "Burstable"),
        ([res({"cpu": "1", "memory": "1Gi"}), {}], "Burstable"),
        ([res({"cpu": "1", "memory": "1Gi"}), res({"cpu": "2", "memory": "2Gi"})], "Guaranteed"),
        ([res({"nvidia.com/gpu": "1"})], "BestEffort"),  # only cpu and memory count
        ([res({"cpu": "0", "memory": "0"})], "BestEffort"),  # zero quantities are ignored
    ],
)
def test_qos_class(containers: list[dict[str, Any]], qos: str) -> None:
    body = pod(*[{"name": f"c{i}", "image": "x:1", "resources": r} for i, r in enumerate(containers)])
    assert qos_class(body) == qos
    assert default_pod(body)["status"]["qosClass"] == qos


def test_qos_counts_init_containers() -> None:
    body = pod(
        {"name": "c", "image": "x:1", "resources": res({"cpu": "1", "memory": "1Gi"})},
        initContainers=[{"name": "i", "image": "x:1"}],
    )
    assert qos_class(body) == "Burstable"
