"""ConfigMaps, Secrets, ServiceAccounts and the Node through the official client, as kube-apiserver serves them."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from podherd.localcluster.apiserver.server import LocalCluster
from tests.integration.conftest import wait_for


def status_of(exc: ApiException) -> dict[str, Any]:
    return json.loads(exc.body)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# ---- ConfigMaps -------------------------------------------------------------------------------------------


def test_config_map_crud_list_watch_and_patch(core: client.CoreV1Api, ns: str) -> None:
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    seen: list[tuple[str, str]] = []

    def read() -> None:
        for ev in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=3):
            seen.append((ev["type"], ev["object"].metadata.name))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    body = {"metadata": {"name": "cfg"}, "data": {"a": "1", "b.txt": "x"}, "binaryData": {"bin": "AAEC"}}
    cm = core.create_namespaced_config_map(ns, body)
    assert cm.data == {"a": "1", "b.txt": "x"} and cm.binary_data == {"bin": "AAEC"}
    assert cm.kind == "ConfigMap" and cm.metadata.uid
    assert core.patch_namespaced_config_map("cfg", ns, {"data": {"a": "2"}}).data["a"] == "2"
    cm = core.read_namespaced_config_map("cfg", ns)
    cm.data["c"] = "3"
    assert core.replace_namespaced_config_map("cfg", ns, cm).data == {"a": "2", "b.txt": "x", "c": "3"}
    assert [c.metadata.name for c in core.list_namespaced_config_map(ns).items] == ["cfg"]
    st = core.delete_namespaced_config_map("cfg", ns)  # a Status, which the client leaves a plain dict
    assert st["status"] == "Success" and st["details"]["kind"] == "configmaps"
    reader.join(timeout=10)
    assert seen == [("ADDED", "cfg"), ("MODIFIED", "cfg"), ("MODIFIED", "cfg"), ("DELETED", "cfg")]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"data": {"a b": "x"}}, "data[a b]", "a valid config key must consist of alphanumeric characters"),
        ({"data": {"..x": "x"}}, "data[..x]", "must not start with '..'"),
        ({"data": {"k": "x"}, "binaryData": {"k": "AA=="}}, "data[k]", "duplicate of key present in binaryData"),
        ({"data": {"big": "x" * (1024 * 1024 + 1)}}, "", "Too long: may not be more than 1048576 bytes"),
    ],
)
def test_config_map_validation_is_422(core: client.CoreV1Api, ns: str, body: dict, field: str, message: str) -> None:
    with pytest.raises(ApiException) as ei:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "bad"}, **body})
    st = status_of(ei.value)
    assert ei.value.status == 422 and st["reason"] == "Invalid" and st["details"]["kind"] == "ConfigMap"
    assert any(c.get("field", "") == field and message in c["message"] for c in st["details"]["causes"]), st


def test_binary_data_that_is_not_base64_is_400(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as ei:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "bad"}, "binaryData": {"k": "not base64!"}})
    assert ei.value.status == 400
    assert "illegal base64 data at input byte 3" in status_of(ei.value)["message"]


def test_an_immutable_config_map_keeps_its_data(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "frozen"}, "data": {"a": "1"}, "immutable": True})
    for patch in ({"data": {"a": "2"}}, {"immutable": False}):
        with pytest.raises(ApiException) as ei:
            core.patch_namespaced_config_map("frozen", ns, patch)
        assert ei.value.status == 422
        assert "field is immutable when `immutable` is set" in status_of(ei.value)["message"]
    labelled = core.patch_namespaced_config_map("frozen", ns, {"metadata": {"labels": {"ok": "yes"}}})
    assert labelled.metadata.labels == {"ok": "yes"}  # metadata stays writable


# ---- Secrets ----------------------------------------------------------------------------------------------


def test_secret_string_data_is_folded_into_data(core: client.CoreV1Api, ns: str) -> None:
    body = {"metadata": {"name": "s"}, "data": {"user": b64("admin")}, "stringData": {"password": "hunter2"}}
    raw = json.loads(core.create_namespaced_secret(ns, body, _preload_content=False).data)
    assert raw["type"] == "Opaque"
    assert raw["data"] == {"user": b64("admin"), "password": b64("hunter2")}
    assert "stringData" not in raw
    out = core.patch_namespaced_secret("s", ns, {"stringData": {"user": "root"}})
    assert base64.b64decode(out.data["user"]) == b"root" and out.string_data is None
    selected = core.list_namespaced_secret(ns, field_selector="type=Opaque").items
    assert [s.metadata.name for s in selected] == ["s"]
    assert core.list_namespaced_secret(ns, field_selector="type=kubernetes.io/tls").items == []


def test_secret_type_rules(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as ei:
        core.create_namespaced_secret(ns, {"metadata": {"name": "t"}, "type": "kubernetes.io/tls", "data": {}})
    causes = {c["field"] for c in status_of(ei.value)["details"]["causes"]}
    assert ei.value.status == 422 and causes == {"data[tls.crt]", "data[tls.key]"}
    core.create_namespaced_secret(ns, {"metadata": {"name": "o"}, "stringData": {"k": "v"}})
    with pytest.raises(ApiException) as ei:
        core.patch_namespaced_secret("o", ns, {"type": "kubernetes.io/basic-auth"})
    assert ei.value.status == 422 and "field is immutable" in status_of(ei.value)["message"]
    with pytest.raises(ApiException) as ei:
        core.create_namespaced_secret(ns, {"metadata": {"name": "b"}, "data": {"k": "%%%"}})
    assert ei.value.status == 400 and "cannot be handled as a Secret" in status_of(ei.value)["message"]


# ---- ServiceAccounts --------------------------------------------------------------------------------------


def test_every_namespace_has_a_default_service_account(core: client.CoreV1Api, ns: str) -> None:
    assert [sa.metadata.name for sa in core.list_namespaced_service_account(ns).items] == ["default"]
    assert core.read_namespaced_service_account("default", "default").metadata.uid
    first = core.read_namespaced_service_account("default", ns).metadata.uid
    core.delete_namespaced_service_account("default", ns)
    again = core.read_namespaced_service_account("default", ns)  # the controller makes it again
    assert again.metadata.uid != first
    core.create_namespaced_service_account(ns, {"metadata": {"name": "runner"}})
    assert {sa.metadata.name for sa in core.list_namespaced_service_account(ns).items} == {"default", "runner"}


def test_a_deleted_namespace_takes_its_accounts_and_config_with_it(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "short-lived"}})
    core.create_namespaced_config_map("short-lived", {"metadata": {"name": "c"}})
    core.delete_namespace("short-lived")

    def gone() -> bool:
        return "short-lived" not in {n.metadata.name for n in core.list_namespace().items}

    wait_for(gone, what="namespace removed")
    assert core.list_namespaced_service_account("short-lived").items == []


# ---- the Node ---------------------------------------------------------------------------------------------


def test_the_kubelet_registers_node_local(cluster: LocalCluster, core: client.CoreV1Api) -> None:
    nodes = core.list_node().items
    assert [n.metadata.name for n in nodes] == ["local"]
    node = nodes[0]
    labels = node.metadata.labels
    assert labels["kubernetes.io/hostname"] == "local" and labels["kubernetes.io/os"] == "linux"
    assert labels["kubernetes.io/arch"] in ("amd64", "arm64", "arm", "ppc64le")
    ready = [c for c in node.status.conditions if c.type == "Ready"]
    assert ready[0].status == "True" and ready[0].reason == "KubeletReady"
    assert {(a.type, a.address) for a in node.status.addresses} == {("InternalIP", "127.0.0.1"), ("Hostname", "local")}
    assert int(node.status.capacity["cpu"]) >= 1 and node.status.capacity["memory"].endswith("Ki")
    assert node.status.allocatable["pods"] == "110"
    assert node.status.node_info.operating_system == "linux"
    assert node.status.node_info.kubelet_version == client.VersionApi(cluster.api_client()).get_code().git_version
    assert core.list_node(field_selector="metadata.name=local").items
    assert core.list_node(field_selector="spec.unschedulable=true").items == []
    with pytest.raises(ApiException) as ei:
        core.list_node(field_selector="metadata.namespace=x")
    assert ei.value.status == 400
