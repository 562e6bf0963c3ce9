"""Discovery routing (pure): the documents kubectl asks for, and 404s for anything else."""

from __future__ import annotations

from podherd.localcluster.apiserver.discovery import discovery_document, is_discovery_path


def test_documents() -> None:
    assert discovery_document("/version", "127.0.0.1:1")["major"] == "1"
    assert discovery_document("/api", "127.0.0.1:1")["serverAddressByClientCIDRs"][0]["serverAddress"] == "127.0.0.1:1"
    pods = discovery_document("/api/v1", "x")
    assert {r["name"] for r in pods["resources"]} >= {"pods", "pods/log", "pods/status", "namespaces", "events"}
    leases = discovery_document("/apis/coordination.k8s.io/v1", "x")
    assert [r["name"] for r in leases["resources"]] == ["leases"]
    assert [g["name"] for g in discovery_document("/apis", "x")["groups"]] == [
        "authorization.k8s.io",
        "coordination.k8s.io",
    ]
    reviews = discovery_document("/apis/authorization.k8s.io/v1", "x")["resources"]
    assert [(r["name"], r["verbs"]) for r in reviews] == [("selfsubjectaccessreviews", ["create"])]
    assert discovery_document("/apis/coordination.k8s.io", "x")["kind"] == "APIGroup"
    assert discovery_document("/openapi/v3/api/v1", "x") is None  # OpenAPI is served by apiserver.openapi


def test_unknown_paths() -> None:
    for path in ("/api/v2", "/apis/apps/v1", "/apis/nope", "/openapi/v3/apis/apps/v1", "/metrics", "/"):
        assert discovery_document(path, "x") is None, path
    assert is_discovery_path("/api/v1") and not is_discovery_path("/metrics")
    # Unserved resources under a served group-version are not documents: any verb on them is 404, not 405.
    for path in ("/api/v1/namespaces/default/services", "/apis/apps/v1/deployments", "/apis/nope/v1/things"):
        assert not is_discovery_path(path), path


def test_core_v1_lists_the_pod_using_kinds() -> None:
    doc = discovery_document("/api/v1", "127.0.0.1:1")
    assert doc is not None
    by_name = {r["name"]: r for r in doc["resources"]}
    assert by_name["configmaps"]["shortNames"] == ["cm"] and by_name["configmaps"]["namespaced"] is True
    assert by_name["secrets"]["kind"] == "Secret" and "shortNames" not in by_name["secrets"]
    assert by_name["serviceaccounts"]["shortNames"] == ["sa"]
    assert by_name["nodes"]["namespaced"] is False and by_name["nodes"]["shortNames"] == ["no"]
    assert by_name["nodes/status"]["verbs"] == ["get", "patch", "update"]
    assert by_name["pods/exec"]["verbs"] == ["create", "get"] and by_name["pods/attach"]["verbs"] == ["create", "get"]
