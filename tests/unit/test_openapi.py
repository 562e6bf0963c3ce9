"""OpenAPI v3 documents generated from the .proto files, pure: descriptions, schemas, paths, serving rules.

Expected values are taken from Kubernetes' published OpenAPI (api/openapi-spec/v3) where the generator
rules are the point: description folding, required fields, list extensions, enums, defaults.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from podherd.localcluster.apimachinery.kinds import LEASES, NAMESPACES, PODS
from podherd.localcluster.apimachinery.proto import schema
from podherd.localcluster.apiserver.openapi import documents
from podherd.localcluster.apiserver.openapi.paths import PathBuilder
from podherd.localcluster.apiserver.openapi.schemas import SchemaBuilder, description, schema_name

S = schema.load()
CORE = "k8s.io.api.core.v1"


def test_descriptions_fold_as_kube_openapi_does() -> None:
    comment = (
        "First line\nsecond line.\n\nNext paragraph:\n\tindented code\nafter.\n+optional\nTODO: not shown\n---\nhidden"
    )
    assert description(comment) == "First line second line.\n\nNext paragraph:\n\tindented code\nafter."
    assert description("Kind.\n+listType=map", ["", "Possible enum values:", ' - `"A"` is a.']) == (
        'Kind.\n\nPossible enum values:\n - `"A"` is a.'
    )


def schemas() -> dict:
    return SchemaBuilder(S).closure([f"{CORE}.Pod"], {f"{CORE}.Pod": [{"group": "", "kind": "Pod", "version": "v1"}]})


def test_pod_schema_has_the_published_shape() -> None:
    out = schemas()
    pod = out["io.k8s.api.core.v1.Pod"]
    assert set(pod["properties"]) == {"apiVersion", "kind", "metadata", "spec", "status"}
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    assert pod["properties"]["spec"] == {
        "description": "Specification of the desired behavior of the pod. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status",
        "default": {},
        "allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}],
    }
    spec = out["io.k8s.api.core.v1.PodSpec"]
    assert spec["required"] == ["containers"]
    containers = spec["properties"]["containers"]
    assert {k: v for k, v in containers.items() if k != "description"} == {
        "type": "array",
        "items": {"default": {}, "allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}]},
        "x-kubernetes-list-map-keys": ["name"],
        "x-kubernetes-list-type": "map",
        "x-kubernetes-patch-merge-key": "name",
        "x-kubernetes-patch-strategy": "merge",
    }
    assert spec["properties"]["nodeSelector"]["additionalProperties"] == {"type": "string", "default": ""}
    assert spec["properties"]["nodeSelector"]["x-kubernetes-map-type"] == "atomic"
    assert "default" not in spec["properties"]["securityContext"]  # a pointer: no {} default
    assert spec["properties"]["restartPolicy"]["enum"] == ["Always", "Never", "OnFailure"]
    assert spec["properties"]["restartPolicy"]["description"].endswith(
        'Possible enum values:\n - `"Always"`\n - `"Never"`\n - `"OnFailure"`'
    )
    assert out["io.k8s.api.core.v1.Container"]["required"] == ["name"]
    assert out["io.k8s.api.core.v1.Container"]["properties"]["name"]["default"] == ""  # no omitempty
    protocol = out["io.k8s.api.core.v1.ContainerPort"]["properties"]["protocol"]
    assert (protocol["default"], protocol["enum"]) == ("TCP", ["SCTP", "TCP", "UDP"])
    assert ' - `"TCP"` is the TCP protocol.' in protocol["description"]


def test_inline_fields_are_flattened_and_special_types_have_their_published_schemas() -> None:
    out = schemas()
    volume = out["io.k8s.api.core.v1.Volume"]["properties"]
    assert "volumeSource" not in volume and {"name", "emptyDir", "configMap", "hostPath"} <= set(volume)
    probe = out["io.k8s.api.core.v1.Probe"]["properties"]
    assert {"exec", "httpGet", "tcpSocket", "grpc", "periodSeconds"} <= set(probe)
    assert out["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    assert out["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"] == "date-time"
    assert out["io.k8s.apimachinery.pkg.api.resource.Quantity"]["oneOf"] == [{"type": "string"}, {"type": "number"}]
    assert out["io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1"]["type"] == "object"
    assert "io.k8s.api.core.v1.ConfigMap" not in out  # only what the roots reach
    assert (
        schema_name("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta")
        == "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    )


def test_paths_carry_the_gvk_and_field_validation_kubectl_looks_for() -> None:
    messages = {
        "Pod": f"{CORE}.Pod",
        "PodList": f"{CORE}.PodList",
        "Namespace": f"{CORE}.Namespace",
        "NamespaceList": f"{CORE}.NamespaceList",
    }
    paths = PathBuilder(S, "", "v1").paths([PODS, NAMESPACES], messages)
    item = paths["/api/v1/namespaces/{namespace}/pods/{name}"]
    assert set(item) == {"get", "put", "patch", "delete", "parameters"}
    patch = item["patch"]
    assert patch["operationId"] == "patchCoreV1NamespacedPod"
    assert patch["x-kubernetes-group-version-kind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert [p["name"] for p in patch["parameters"]] == ["dryRun", "fieldManager", "fieldValidation", "force"]
    assert patch["parameters"][2]["in"] == "query" and "Strict" in patch["parameters"][2]["description"]
    assert "application/apply-patch+yaml" in patch["requestBody"]["content"]
    assert paths["/api/v1/pods"]["get"]["operationId"] == "listCoreV1PodForAllNamespaces"
    assert set(paths["/api/v1/namespaces/{namespace}/pods/{name}/status"]) == {"get", "put", "patch", "parameters"}
    assert "delete" not in paths["/api/v1/namespaces"]  # no deletecollection of namespaces
    lease_paths = PathBuilder(S, LEASES.group, "v1").paths(
        [LEASES], {"Lease": "k8s.io.api.coordination.v1.Lease", "LeaseList": "k8s.io.api.coordination.v1.LeaseList"}
    )
    delete = lease_paths["/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"]["delete"]
    assert delete["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("meta.v1.Status")


def test_documents_cover_every_served_group_version_and_hash_their_bytes() -> None:
    docs = documents.documents()
    assert set(docs) == {"api/v1", "apis/coordination.k8s.io/v1", "apis/authorization.k8s.io/v1"}
    for doc in docs.values():
        assert doc.etag == hashlib.sha512(doc.body).hexdigest().upper()
    core = json.loads(docs["api/v1"].body)
    kinds = {
        g["kind"] for s in core["components"]["schemas"].values() for g in s.get("x-kubernetes-group-version-kind", [])
    }
    assert {"Pod", "PodList", "Namespace", "NamespaceList", "Event", "EventList"} <= kinds
    index = json.loads(documents.index().body)
    assert index["paths"]["api/v1"] == {"serverRelativeURL": f"/openapi/v3/api/v1?hash={docs['api/v1'].etag}"}


def test_serving_rules_of_handler3() -> None:
    doc = documents.documents()["api/v1"]
    ok = documents.serve("/openapi/v3/api/v1", doc.etag, "application/json", None)
    assert ok is not None and ok.status == 200 and ok.body == doc.body
    assert ("Cache-Control", "public, immutable") in ok.headers and ("Etag", f'"{doc.etag}"') in ok.headers
    stale = documents.serve("/openapi/v3/api/v1", "0BAD", None, None)
    assert stale is not None and (stale.status, dict(stale.headers)["Location"]) == (
        301,
        f"/openapi/v3/api/v1?hash={doc.etag}",
    )
    unhashed = documents.serve("/openapi/v3/api/v1", None, None, None)
    assert unhashed is not None and unhashed.status == 200 and "Cache-Control" not in dict(unhashed.headers)
    cached = documents.serve("/openapi/v3/api/v1", doc.etag, None, f'"{doc.etag}"')
    assert cached is not None and (cached.status, cached.body) == (304, b"")
    only_pb = documents.serve(
        "/openapi/v3/api/v1", None, "application/com.github.proto-openapi.spec.v3@v1.0+protobuf", None
    )
    assert only_pb is not None and only_pb.status == 406
    assert documents.serve("/openapi/v3/apis/apps/v1", None, None, None) is None
    assert documents.exists("/openapi/v3") and not documents.exists("/openapi/v3/apis/apps/v1")


@pytest.mark.parametrize("kind", ["ConfigMap", "Secret", "ServiceAccount", "Node"])
def test_kinds_registered_elsewhere_get_schemas_from_their_messages(kind: str) -> None:
    message = S.message_for("v1", kind)
    assert message is not None
    out = SchemaBuilder(S).closure([message.full_name], {})
    assert set(out[f"io.k8s.api.core.v1.{kind}"]["properties"]) >= {"apiVersion", "kind", "metadata"}
