"""kubelet.envresolve and kubelet.downward: a container's environment from its pod and the objects it names."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from podherd.localcluster.kubelet.downward import DownwardError, field_value, format_map, resource_value
from podherd.localcluster.kubelet.envresolve import ConfigError, expand, resolve_env

POD: dict[str, Any] = {
    "metadata": {"name": "p", "namespace": "ns", "uid": "u-1", "labels": {"b": "2", "a": 'say "hi"'}},
    "spec": {"nodeName": "local", "serviceAccountName": "default"},
}
OBJECTS = {
    ("configmaps", "ns", "cm"): {"data": {"k": "v", "x": "1"}},
    ("secrets", "ns", "sec"): {"data": {"token": base64.b64encode(b"t0k").decode()}},
}


def objects(resource: str, ns: str, name: str) -> dict[str, Any] | None:
    return OBJECTS.get((resource, ns, name))


def env_of(c: dict[str, Any], base: dict[str, str] | None = None) -> dict[str, str]:
    return resolve_env(POD, c, objects, base or {}, lambda: {"cpu": "2", "memory": "4Gi"}).env


def test_expand() -> None:
    assert expand("$(A)-$$(A)-$(B)-$-$(", {"A": "1"}) == "1-$(A)-$(B)-$-$("


def test_env_order_later_wins_and_expansion_sees_earlier_names() -> None:
    c = {
        "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "P_"}],
        "env": [{"name": "A", "value": "$(P_k)$(BASE)"}, {"name": "P_x", "value": "over"}, {"name": "E", "value": ""}],
    }
    assert env_of(c, {"BASE": "!"}) == {"BASE": "!", "P_k": "v", "P_x": "over", "A": "v!", "E": ""}


def test_value_from_sources() -> None:
    c = {
        "env": [
            {"name": "S", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "token"}}},
            {"name": "F", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['b']"}}},
            {"name": "M", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Gi"}}},
        ]
    }
    assert env_of(c) == {"S": "t0k", "F": "2", "M": "4"}


@pytest.mark.parametrize(
    ("c", "message"),
    [
        ({"envFrom": [{"configMapRef": {"name": "nope"}}]}, 'configmap "nope" not found'),
        ({"envFrom": [{"secretRef": {"name": "nope"}}]}, 'secret "nope" not found'),
        (
            {"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "zz"}}}]},
            "couldn't find key zz in ConfigMap ns/cm",
        ),
        (
            {"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "zz"}}}]},
            "couldn't find key zz in Secret ns/sec",
        ),
        (
            {"env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.hostname"}}}]},
            'unsupported fieldPath: "spec.hostname"',
        ),
        (
            {"env": [{"name": "X", "valueFrom": {"resourceFieldRef": {"resource": "limits.gpu"}}}]},
            "unsupported container resource : limits.gpu",
        ),
    ],
)
def test_unresolvable_references(c: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as ei:
        env_of(c)
    assert str(ei.value) == message


def test_optional_references_are_skipped_and_invalid_names_warned() -> None:
    c = {
        "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "9"}, {"secretRef": {"name": "gone", "optional": True}}],
        "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "zz", "optional": True}}}],
    }
    out = resolve_env(POD, c, objects, {}, dict)
    assert out.env == {}
    assert out.warnings == [
        "Keys [9k, 9x] from the EnvFrom configmap ns/cm were skipped since they are considered invalid environment "
        "variable names."
    ]


def test_downward_fields_and_maps() -> None:
    assert field_value(POD, "metadata.uid") == "u-1" and field_value(POD, "status.hostIP") == "127.0.0.1"
    assert field_value(POD, "metadata.annotations['none']") == ""
    assert field_value(POD, "metadata.labels", whole_maps=True) == 'a="say \\"hi\\""\nb="2"'
    assert format_map({}) == ""
    with pytest.raises(DownwardError):
        field_value(POD, "metadata.labels")  # whole maps only in volumes


@pytest.mark.parametrize(
    ("resources", "ref", "value"),
    [
        ({"limits": {"cpu": "250m"}}, {"resource": "limits.cpu"}, "1"),  # rounded up to whole cores
        ({"limits": {"cpu": "250m"}}, {"resource": "limits.cpu", "divisor": "1m"}, "250"),
        ({}, {"resource": "limits.cpu"}, "2"),  # no limit: the node's allocatable
        ({}, {"resource": "requests.cpu"}, "0"),
        ({"requests": {"memory": "100M"}}, {"resource": "requests.memory", "divisor": "1Mi"}, "96"),
        (
            {"limits": {"ephemeral-storage": "1Gi"}},
            {"resource": "limits.ephemeral-storage", "divisor": "1Ki"},
            "1048576",
        ),
    ],
)
def test_resource_values(resources: dict[str, Any], ref: dict[str, Any], value: str) -> None:
    assert resource_value({"name": "c", "resources": resources}, ref, {"cpu": "2", "memory": "4Gi"}) == value
