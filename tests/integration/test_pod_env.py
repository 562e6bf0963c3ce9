"""The kubelet resolves env.valueFrom and envFrom from ConfigMaps, Secrets, the downward API and resources."""

from __future__ import annotations

import json
import sys
from typing import Any

from kubernetes import client

from tests.integration.conftest import wait_for

PRINT_ENV = [sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]


def env_pod(
    name: str, env: list[dict[str, Any]] | None = None, env_from: list[dict[str, Any]] | None = None, **c: Any
) -> dict:
    container = {
        "name": "main",
        "image": "busybox:1.36",
        "command": PRINT_ENV,
        "env": env or [],
        "envFrom": env_from or [],
    }
    return {
        "metadata": {"name": name, "labels": {"team": "data"}},
        "spec": {"restartPolicy": "Never", "containers": [{**container, **c}]},
    }


def printed_env(core: client.CoreV1Api, ns: str, name: str) -> dict[str, str]:
    wait_for(lambda: core.read_namespaced_pod(name, ns).status.phase == "Succeeded", what=f"{name} Succeeded")
    return json.loads(core.read_namespaced_pod_log(name, ns))


def waiting(core: client.CoreV1Api, ns: str, name: str) -> Any:
    statuses = core.read_namespaced_pod(name, ns).status.container_statuses or []
    return statuses[0].state.waiting if statuses else None


def test_env_from_config_maps_secrets_fields_and_resources(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "app"}, "data": {"MODE": "fast", "level": "3"}})
    core.create_namespaced_secret(ns, {"metadata": {"name": "db"}, "stringData": {"PASSWORD": "hunter2", "user": "me"}})
    env = [
        {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "level"}}},
        {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "db", "key": "user"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "TEAM", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['team']"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "MEM_MI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
        {"name": "CPU_M", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}}},
        {"name": "CPU_LIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
        {"name": "COMBINED", "value": "$(FROM_CM)-$(cfg_MODE)-$(UNDEFINED)"},
        {"name": "MODE", "value": "overridden"},
    ]
    env_from = [{"configMapRef": {"name": "app"}, "prefix": "cfg_"}, {"secretRef": {"name": "db"}}]
    resources = {"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m", "memory": "64Mi"}}
    core.create_namespaced_pod(ns, env_pod("envy", env, env_from, resources=resources))
    got = printed_env(core, ns, "envy")
    allocatable_cpu = core.read_node("local").status.allocatable["cpu"]
    assert {k: got[k] for k in ("FROM_CM", "FROM_SECRET", "POD", "NS", "TEAM", "NODE", "IP")} == {
        "FROM_CM": "3",
        "FROM_SECRET": "me",
        "POD": "envy",
        "NS": ns,
        "TEAM": "data",
        "NODE": "local",
        "IP": "127.0.0.1",
    }
    assert (got["MEM_MI"], got["CPU_M"], got["CPU_LIMIT"]) == ("64", "250", allocatable_cpu)
    assert got["cfg_MODE"] == "fast" and got["cfg_level"] == "3" and got["PASSWORD"] == "hunter2"
    assert got["COMBINED"] == "3-fast-$(UNDEFINED)" and got["MODE"] == "overridden" and got["HOSTNAME"] == "envy"


def test_a_missing_config_map_waits_with_create_container_config_error_then_runs(
    core: client.CoreV1Api, ns: str
) -> None:
    env = [{"name": "LATER", "valueFrom": {"configMapKeyRef": {"name": "later", "key": "k"}}}]
    core.create_namespaced_pod(ns, env_pod("patient", env))
    wait_for(lambda: waiting(core, ns, "patient"), what="the container waiting")
    wait_for(lambda: waiting(core, ns, "patient").reason == "CreateContainerConfigError", what="config error")
    state = waiting(core, ns, "patient")
    assert state.message == 'configmap "later" not found'
    assert core.read_namespaced_pod("patient", ns).status.phase == "Pending"
    failed = core.list_namespaced_event(ns, field_selector="involvedObject.name=patient,reason=Failed").items
    assert [e.message for e in failed] == ['Error: configmap "later" not found']
    core.create_namespaced_config_map(ns, {"metadata": {"name": "later"}, "data": {"x": "1"}})  # the wrong key
    msg = f"couldn't find key k in ConfigMap {ns}/later"
    wait_for(lambda: waiting(core, ns, "patient").message == msg, what="the missing-key message")
    core.patch_namespaced_config_map("later", ns, {"data": {"k": "now"}})
    assert printed_env(core, ns, "patient")["LATER"] == "now"


def test_optional_references_may_be_missing(core: client.CoreV1Api, ns: str) -> None:
    env = [
        {"name": "NO_CM", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k", "optional": True}}},
        {"name": "NO_KEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "absent", "optional": True}}},
    ]
    core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    env_from = [
        {"secretRef": {"name": "absent", "optional": True}},
        {"configMapRef": {"name": "absent", "optional": True}},
    ]
    core.create_namespaced_pod(ns, env_pod("relaxed", env, env_from))
    got = printed_env(core, ns, "relaxed")
    assert "NO_CM" not in got and "NO_KEY" not in got


def test_a_missing_secret_and_invalid_names(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, env_pod("nosecret", env_from=[{"secretRef": {"name": "vault"}}]))
    wait_for(
        lambda: (
            (waiting(core, ns, "nosecret") or client.V1ContainerStateWaiting()).message == 'secret "vault" not found'
        ),
        what="message",
    )
    core.create_namespaced_config_map(ns, {"metadata": {"name": "odd"}, "data": {"1st": "x", "ok": "y"}})
    core.create_namespaced_pod(ns, env_pod("odd", env_from=[{"configMapRef": {"name": "odd"}}]))
    got = printed_env(core, ns, "odd")
    assert got["ok"] == "y" and "1st" not in got
    events = core.list_namespaced_event(
        ns, field_selector="involvedObject.name=odd,reason=InvalidEnvironmentVariableNames"
    )
    assert [e.message for e in events.items] == [
        f"Keys [1st] from the EnvFrom configmap {ns}/odd were skipped since they are considered invalid environment variable names."
    ]
