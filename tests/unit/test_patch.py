"""The local cluster's patch engine against Kubernetes semantics (API.md §5, apimachinery strategicpatch)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from podherd.localcluster.apimachinery.errors import ApiError
from podherd.localcluster.patch.apply import (
    APPLY_PATCH_YAML,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    SUPPORTED_PATCH_TYPES,
    apply_patch,
    normalize_patch_type,
    parse_apply_yaml,
)
from podherd.localcluster.patch.schema import ITEM, Schema
from podherd.localcluster.patch.strategic import strategic_merge

REJECTED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "the server rejected our request due to an error in our request",
    "reason": "Invalid",
    "details": {},
    "code": 422,
}


def make_pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "p",
            "namespace": "default",
            "resourceVersion": "7",
            "labels": {"app": "web", "tier": "front"},
            "annotations": {"example.com/owner": "r1"},
            "finalizers": ["a.example/x", "b.example/y"],
        },
        "spec": {
            "containers": [
                {"name": "main", "image": "busybox:1", "env": [{"name": "A", "value": "1"}]},
                {"name": "side", "image": "nginx:1", "ports": [{"containerPort": 80}]},
            ],
            "tolerations": [{"key": "k1", "operator": "Exists"}, {"key": "k2", "operator": "Exists"}],
            "volumes": [{"name": "v1", "emptyDir": {}}],
        },
        "status": {
            "phase": "Pending",
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
            ],
        },
    }


def patched(patch_type: str, patch: Any, obj: dict[str, Any] | None = None, resource: str = "pods") -> dict[str, Any]:
    body = patch if isinstance(patch, bytes) else json.dumps(patch).encode()
    return apply_patch(make_pod() if obj is None else obj, patch_type, body, resource)


def smp(patch: Any, obj: dict[str, Any] | None = None) -> dict[str, Any]:
    return patched(STRATEGIC_MERGE_PATCH, patch, obj)


def failure(patch_type: str, patch: Any, obj: dict[str, Any] | None = None) -> ApiError:
    with pytest.raises(ApiError) as info:
        patched(patch_type, patch, obj)
    return info.value


def names(items: list[dict[str, Any]], key: str = "name") -> list[Any]:
    return [item[key] for item in items]


# --- content types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/json-patch+json", JSON_PATCH),
        ("application/merge-patch+json; charset=utf-8", MERGE_PATCH),
        ("Application/Strategic-Merge-Patch+JSON;charset=UTF-8", STRATEGIC_MERGE_PATCH),
        (" application/apply-patch+yaml ", APPLY_PATCH_YAML),
    ],
)
def test_content_type_is_normalized(header: str, expected: str) -> None:
    assert normalize_patch_type(header) == expected


@pytest.mark.parametrize("header", ["text/plain", "application/json", "", None, "application/apply-patch+cbor"])
def test_unsupported_content_type_is_415(header: str | None) -> None:
    with pytest.raises(ApiError) as info:
        normalize_patch_type(header)
    status = info.value.to_status()
    assert status["code"] == 415
    assert status["reason"] == "UnsupportedMediaType"
    assert status["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json, application/apply-patch+yaml"
    )


def test_apply_patch_checks_the_content_type_too() -> None:
    assert SUPPORTED_PATCH_TYPES[0] == JSON_PATCH
    with pytest.raises(ApiError) as info:
        apply_patch(make_pod(), "text/plain", b"{}", "pods")
    assert info.value.code == 415


# --- merge patch (RFC 7386) ----------------------------------------------------------------------


def test_merge_patch_adds_and_removes_labels() -> None:
    out = patched(MERGE_PATCH, {"metadata": {"labels": {"new": "1", "tier": None}}})
    assert out["metadata"]["labels"] == {"app": "web", "new": "1"}
    assert out["metadata"]["name"] == "p"


def test_merge_patch_replaces_lists_and_drops_nested_nulls() -> None:
    out = patched(MERGE_PATCH, {"spec": {"containers": [{"name": "only"}]}, "extra": {"a": None, "b": 1}})
    assert out["spec"]["containers"] == [{"name": "only"}]
    assert out["extra"] == {"b": 1}


def test_merge_patch_carries_resource_version() -> None:
    assert patched(MERGE_PATCH, {"metadata": {"resourceVersion": "3"}})["metadata"]["resourceVersion"] == "3"


@pytest.mark.parametrize("body", [b"[1]", b'"x"', b"null", b"3"])
def test_merge_patch_must_be_an_object(body: bytes) -> None:
    assert failure(MERGE_PATCH, body).code == 400


@pytest.mark.parametrize("patch_type", [MERGE_PATCH, STRATEGIC_MERGE_PATCH, JSON_PATCH])
@pytest.mark.parametrize("body", [b"", b"{not json", b"\xff\xfe\x00", b'{"a": NaN}'])
def test_non_json_body_is_400(patch_type: str, body: bytes) -> None:
    err = failure(patch_type, body)
    assert (err.code, err.reason, err.message) == (400, "BadRequest", "invalid JSON patch")


# --- strategic merge patch -----------------------------------------------------------------------


def test_smp_adds_and_removes_labels() -> None:
    out = smp({"metadata": {"labels": {"new": "1", "app": None, "absent": None}}})
    assert out["metadata"]["labels"] == {"tier": "front", "new": "1"}


def test_smp_changes_one_container_image_by_name() -> None:
    out = smp({"spec": {"containers": [{"name": "side", "image": "nginx:2"}]}})
    containers = out["spec"]["containers"]
    assert names(containers) == ["main", "side"]
    assert containers[0] == make_pod()["spec"]["containers"][0]
    assert containers[1] == {"name": "side", "image": "nginx:2", "ports": [{"containerPort": 80}]}


def test_smp_adds_env_var_by_name_and_merges_existing_one() -> None:
    out = smp({"spec": {"containers": [{"name": "main", "env": [{"name": "B", "value": "2"}]}]}})
    assert out["spec"]["containers"][0]["env"] == [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]
    out = smp({"spec": {"containers": [{"name": "main", "env": [{"name": "A", "value": "9"}]}]}})
    assert out["spec"]["containers"][0]["env"] == [{"name": "A", "value": "9"}]


def test_smp_new_keyed_element_lands_before_following_server_items_like_kubernetes() -> None:
    # mergeSortedSlice: a patch item unknown to the live list wins every comparison.
    out = smp({"spec": {"containers": [{"name": "extra", "image": "x"}]}})
    assert names(out["spec"]["containers"]) == ["extra", "main", "side"]
    out = smp({"spec": {"containers": [{"name": "main", "image": "b:2"}, {"name": "extra", "image": "x"}]}})
    assert names(out["spec"]["containers"]) == ["main", "extra", "side"]


def test_smp_deletes_a_container_with_patch_delete() -> None:
    out = smp({"spec": {"containers": [{"name": "main", "$patch": "delete"}]}})
    assert names(out["spec"]["containers"]) == ["side"]


def test_smp_set_element_order_reorders_containers() -> None:
    out = smp({"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "main"}]}})
    assert names(out["spec"]["containers"]) == ["side", "main"]
    assert "$setElementOrder/containers" not in out["spec"]


def test_smp_set_element_order_with_patch_list() -> None:
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "side"}, {"name": "new"}, {"name": "main"}],
            "containers": [{"name": "new", "image": "n"}, {"name": "main", "image": "m"}],
        }
    }
    out = smp(patch)
    assert names(out["spec"]["containers"]) == ["side", "new", "main"]
    assert out["spec"]["containers"][2]["image"] == "m"


def test_smp_set_element_order_must_match_the_patch_list() -> None:
    patch = {"spec": {"$setElementOrder/containers": [{"name": "main"}], "containers": [{"name": "side"}]}}
    err = failure(STRATEGIC_MERGE_PATCH, patch)
    assert err.code == 400
    assert "doesn't match $setElementOrder list" in err.message


def test_smp_delete_from_primitive_list_finalizers() -> None:
    out = smp({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.example/x", "not/there"]}})
    assert out["metadata"]["finalizers"] == ["b.example/y"]
    assert not any(k.startswith("$") for k in out["metadata"])


def test_smp_delete_from_missing_primitive_list_adds_nothing() -> None:
    out = smp({"spec": {"$deleteFromPrimitiveList/args": ["x"]}})
    assert "args" not in out["spec"]


def test_smp_finalizers_are_a_set_union() -> None:
    out = smp({"metadata": {"finalizers": ["b.example/y", "c.example/z"]}})
    assert out["metadata"]["finalizers"] == ["a.example/x", "b.example/y", "c.example/z"]


def test_smp_kubectl_style_finalizer_removal_and_addition() -> None:
    patch = {
        "metadata": {
            "$setElementOrder/finalizers": ["b.example/y", "c.example/z"],
            "$deleteFromPrimitiveList/finalizers": ["a.example/x"],
            "finalizers": ["c.example/z"],
        }
    }
    assert smp(patch)["metadata"]["finalizers"] == ["b.example/y", "c.example/z"]


def test_smp_retain_keys_drops_unlisted_keys_after_merging() -> None:
    patch = {"spec": {"volumes": [{"name": "v1", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/x"}}]}}
    assert smp(patch)["spec"]["volumes"] == [{"name": "v1", "hostPath": {"path": "/x"}}]


def test_smp_retain_keys_must_list_every_patched_key() -> None:
    patch = {"spec": {"volumes": [{"name": "v1", "$retainKeys": ["name"], "hostPath": {"path": "/x"}}]}}
    assert failure(STRATEGIC_MERGE_PATCH, patch).code == 400


def test_smp_status_conditions_merge_by_type() -> None:
    out = smp({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": None}]}})
    assert out["status"]["conditions"] == [
        {"type": "PodScheduled", "status": "True"},
        {"type": "Ready", "status": "True"},
    ]


def test_smp_replaces_lists_without_merge_key() -> None:
    out = smp({"spec": {"tolerations": [{"key": "k3", "operator": "Exists"}]}})
    assert out["spec"]["tolerations"] == [{"key": "k3", "operator": "Exists"}]
    out = smp({"spec": {"containers": [{"name": "main", "command": ["b"], "envFrom": [{"prefix": "X"}]}]}})
    assert out["spec"]["containers"][0]["command"] == ["b"]
    assert out["spec"]["containers"][0]["envFrom"] == [{"prefix": "X"}]


def test_smp_ports_merge_by_container_port() -> None:
    out = smp({"spec": {"containers": [{"name": "side", "ports": [{"containerPort": 80, "name": "http"}]}]}})
    assert out["spec"]["containers"][1]["ports"] == [{"containerPort": 80, "name": "http"}]


def test_smp_patch_replace_on_map_and_list() -> None:
    out = smp({"metadata": {"labels": {"$patch": "replace", "only": "1"}}})
    assert out["metadata"]["labels"] == {"only": "1"}
    out = smp({"spec": {"containers": [{"name": "solo", "image": "s"}, {"$patch": "replace"}]}})
    assert out["spec"]["containers"] == [{"name": "solo", "image": "s"}]


def test_smp_patch_delete_on_map_empties_it() -> None:
    assert smp({"metadata": {"labels": {"$patch": "delete"}}})["metadata"]["labels"] == {}


def test_smp_patch_merge_is_an_explicit_default() -> None:
    out = smp({"metadata": {"labels": {"$patch": "merge", "x": "1"}}})
    assert out["metadata"]["labels"] == {"app": "web", "tier": "front", "x": "1"}


def test_smp_new_fields_are_stripped_of_directives_and_nulls() -> None:
    obj = make_pod()
    del obj["metadata"]["labels"]
    out = smp({"metadata": {"labels": {"$patch": "replace", "a": "1", "b": None}}}, obj)
    assert out["metadata"]["labels"] == {"a": "1"}
    del obj["spec"]["volumes"]
    out = smp({"spec": {"volumes": [{"name": "keep"}, {"name": "gone", "$patch": "delete"}]}}, obj)
    assert out["spec"]["volumes"] == [{"name": "keep"}]


@pytest.mark.parametrize(
    "patch",
    [
        {"metadata": {"labels": {"$patch": "bogus"}}},
        {"spec": {"containers": [{"name": "main", "$patch": "explode"}]}},
        {"metadata": {"$unknownDirective": 1}},
        {"metadata": {"$retainKeys": "name"}},
        {"metadata": {"$setElementOrder/finalizers": "x"}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": "x"}},
        {"spec": {"containers": [{"image": "no-name"}]}},
        {"spec": {"containers": [{"$patch": "delete"}]}},
        {"spec": {"containers": ["not-a-map", {"name": "x"}]}},
        [1, 2],
        "text",
        None,
    ],
)
def test_smp_bad_directives_and_documents_are_400(patch: Any) -> None:
    err = failure(STRATEGIC_MERGE_PATCH, patch)
    assert (err.code, err.reason) == (400, "BadRequest")


def test_smp_list_of_lists_is_rejected_like_kubernetes() -> None:
    err = failure(STRATEGIC_MERGE_PATCH, {"status": {"conditions": [["x"]]}})
    assert err.to_status() == REJECTED


def test_smp_carries_resource_version_and_other_resources_get_metadata_rules() -> None:
    assert smp({"metadata": {"resourceVersion": "1"}})["metadata"]["resourceVersion"] == "1"
    lease = {"metadata": {"name": "l", "finalizers": ["a"]}, "spec": {"holderIdentity": "r1"}}
    out = patched(
        STRATEGIC_MERGE_PATCH, {"metadata": {"finalizers": ["b"]}, "spec": {"holderIdentity": "r2"}}, lease, "leases"
    )
    assert sorted(out["metadata"]["finalizers"]) == ["a", "b"]
    assert out["spec"]["holderIdentity"] == "r2"
    ns = {"metadata": {"name": "n"}, "spec": {"finalizers": ["kubernetes"]}}
    out = patched(STRATEGIC_MERGE_PATCH, {"spec": {"finalizers": ["other"]}}, ns, "namespaces")
    assert out["spec"]["finalizers"] == ["other"]


# Cases from apimachinery pkg/util/strategicpatch/patch_test.go, applied with a MergeItem-like schema.
MERGE_ITEM: Schema = {
    ("mergingList",): "name",
    ("mergingList", ITEM, "mergingList"): "name",
    ("mergingIntList",): None,
}

UPSTREAM_CASES = [
    ("unique scalars", "mergingIntList: [1, 2]", "mergingIntList: [2, 3]", "mergingIntList: [1, 2, 3]"),
    (
        "preserve patch order",
        "mergingList: [{name: 1}, {name: 2, value: b}, {name: 3}]",
        "mergingList: [{name: 3, value: c}, {name: 1, value: a}]",
        "mergingList: [{name: 2, value: b}, {name: 3, value: c}, {name: 1, value: a}]",
    ),
    ("preserve patch order, ints", "mergingIntList: [1, 2, 3]", "mergingIntList: [3, 1]", "mergingIntList: [2, 3, 1]"),
    (
        "delete duplicates",
        "mergingList: [{name: 1}, {name: 1}, {name: 2, value: a}, {name: 3}, {name: 3}]",
        "mergingList: [{name: 1, $patch: delete}, {name: 3, $patch: delete}]",
        "mergingList: [{name: 2, value: a}]",
    ),
    ("replace whole list", "mergingList: [{name: 1}]", "mergingList: [{$patch: replace}]", "mergingList: []"),
    ("replace whole map", "{name: 1, value: 1}", "{other: a, $patch: replace}", "{other: a}"),
    (
        "set order names an absent item",
        "mergingList: [{name: 1}, {name: 3}]",
        "{$setElementOrder/mergingList: [{name: 3}, {name: 2}, {name: 1}], mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]}",
        "mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]",
    ),
    (
        "add and delete map",
        "mergingList: [{name: 1}, {name: 2, other: b}, {name: 4, other: c}]",
        "{$setElementOrder/mergingList: [{name: 2}, {name: 3}], mergingList: [{name: 3}, {name: 1, $patch: delete}]}",
        "mergingList: [{name: 2, other: b}, {name: 4, other: c}, {name: 3}]",
    ),
    (
        "add and delete map with conflict",
        "mergingList: [{name: 1, other: a}, {name: 4, other: c}]",
        "{$setElementOrder/mergingList: [{name: 2}, {name: 3}], mergingList: [{name: 2}, {name: 3}, {name: 1, $patch: delete}]}",
        "mergingList: [{name: 4, other: c}, {name: 2}, {name: 3}]",
    ),
    (
        "merge lists of maps",
        "mergingList: [{name: 1, other: a}, {name: 2, value: 2, other: b}]",
        "{$setElementOrder/mergingList: [{name: 4}, {name: 1}, {name: 2}, {name: 3}], mergingList: [{name: 4, value: 4}, {name: 3, value: 3}]}",
        "mergingList: [{name: 4, value: 4}, {name: 1, other: a}, {name: 2, value: 2, other: b}, {name: 3, value: 3}]",
    ),
    (
        "nested patch merge with empty list",
        "{name: hi, mergingList: [{name: hello2}]}",
        "{$setElementOrder/mergingList: [{name: hello}, {name: doesntexist}], mergingList: [{name: hello}, {$patch: delete, name: doesntexist}]}",
        "{name: hi, mergingList: [{name: hello}, {name: hello2}]}",
    ),
    (
        "delete from absent list",
        "{name: hi}",
        "mergingList: [{name: hello}, {$patch: delete, name: doesntexist}]",
        "{name: hi, mergingList: [{name: hello}]}",
    ),
    (
        "add and delete scalars",
        "mergingIntList: [1, 2, 3]",
        "{$setElementOrder/mergingIntList: [1, 2, 4], $deleteFromPrimitiveList/mergingIntList: [3], mergingIntList: [4]}",
        "mergingIntList: [1, 2, 4]",
    ),
    (
        "delete scalars, keep server-only",
        "mergingIntList: [1, 2, 3, 3, 4]",
        "{$setElementOrder/mergingIntList: [1, 2], $deleteFromPrimitiveList/mergingIntList: [3]}",
        "mergingIntList: [1, 2, 4]",
    ),
    (
        "delete from non-merging list",
        "nonMergingIntList: [1, 2, 3]",
        "$deleteFromPrimitiveList/nonMergingIntList: [2]",
        "nonMergingIntList: [1, 3]",
    ),
    (
        "replace non-merging list nested in merging list",
        "mergingList: [{name: 1, other: a, nonMergingList: [{name: 1}, {name: 2, value: 2}]}, {name: 2, other: b}]",
        "{$setElementOrder/mergingList: [{name: 1}, {name: 2}], mergingList: [{name: 1, nonMergingList: [{name: 1, value: 1}]}]}",
        "mergingList: [{name: 1, other: a, nonMergingList: [{name: 1, value: 1}]}, {name: 2, other: b}]",
    ),
]


@pytest.mark.parametrize(
    ("original", "patch", "expected"), [c[1:] for c in UPSTREAM_CASES], ids=[c[0] for c in UPSTREAM_CASES]
)
def test_upstream_strategic_merge_cases(original: str, patch: str, expected: str) -> None:
    assert strategic_merge(yaml.safe_load(original), yaml.safe_load(patch), MERGE_ITEM) == yaml.safe_load(expected)


# --- JSON patch (RFC 6902) -----------------------------------------------------------------------


def test_json_patch_add_replace_remove_test_with_escaped_keys() -> None:
    ops = [
        {"op": "test", "path": "/metadata/annotations/example.com~1owner", "value": "r1"},
        {"op": "replace", "path": "/metadata/annotations/example.com~1owner", "value": "r2"},
        {"op": "add", "path": "/metadata/labels/podherd.io~1claim", "value": "x"},
        {"op": "remove", "path": "/metadata/labels/tier"},
        {"op": "add", "path": "/metadata/finalizers/-", "value": "c"},
        {"op": "copy", "from": "/metadata/name", "path": "/metadata/labels/name"},
        {"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/application"},
    ]
    out = patched(JSON_PATCH, ops)
    assert out["metadata"]["annotations"] == {"example.com/owner": "r2"}
    assert out["metadata"]["labels"] == {"podherd.io/claim": "x", "name": "p", "application": "web"}
    assert out["metadata"]["finalizers"][-1] == "c"


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "test", "path": "/metadata/annotations/example.com~1owner", "value": "dead"}],
        [{"op": "test", "path": "/metadata/resourceVersion", "value": 7}],  # "7" is not 7
        [{"op": "test", "path": "/status/conditions/0/status", "value": True}],
        [{"op": "test", "path": "/metadata/nothing", "value": None}],
        [{"op": "remove", "path": "/metadata/labels/missing"}],
        [{"op": "replace", "path": "/metadata/labels/missing", "value": "x"}],
        [{"op": "add", "path": "/no/such/parent", "value": 1}],
        [{"op": "remove", "path": "/spec/containers/5"}],
        [{"op": "add", "path": "metadata/labels/x", "value": "bad pointer"}],
        [{"op": "move", "from": "/metadata/missing", "path": "/metadata/x"}],
        [{"op": "replace", "path": "", "value": [1]}],
    ],
)
def test_json_patch_apply_failures_are_the_generic_422(ops: list[dict[str, Any]]) -> None:
    assert failure(JSON_PATCH, ops).to_status() == REJECTED


def test_json_patch_conditional_claim_is_all_or_nothing() -> None:
    ops = [
        {"op": "replace", "path": "/metadata/labels/app", "value": "mine"},
        {"op": "test", "path": "/metadata/annotations/example.com~1owner", "value": "someone-else"},
    ]
    pod = make_pod()
    assert failure(JSON_PATCH, ops, pod).code == 422
    assert pod == make_pod()


@pytest.mark.parametrize(
    "ops",
    [
        {"op": "add", "path": "/a", "value": 1},
        "add",
        [1],
        [{"path": "/metadata/labels/a", "value": "1"}],
        [{"op": "frobnicate", "path": "/a"}],
        [{"op": "add", "value": 1}],
        [{"op": "add", "path": 5, "value": 1}],
        [{"op": "add", "path": "/a"}],
        [{"op": "test", "path": "/a"}],
        [{"op": "move", "path": "/a"}],
    ],
)
def test_json_patch_malformed_documents_are_400(ops: Any) -> None:
    err = failure(JSON_PATCH, ops)
    assert (err.code, err.reason) == (400, "BadRequest")


def test_json_patch_operation_limit() -> None:
    ok = [{"op": "test", "path": "/metadata/name", "value": "p"}] * 10000
    assert patched(JSON_PATCH, ok)["metadata"]["name"] == "p"
    err = failure(JSON_PATCH, [*ok, ok[0]])
    status = err.to_status()
    assert (status["code"], status["reason"]) == (413, "RequestEntityTooLarge")
    assert status["message"] == (
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
    )


# --- apply patch (server-side apply, approximated) -----------------------------------------------


def test_apply_bodies_are_yaml_with_timestamps_as_strings() -> None:
    body = b"""
apiVersion: v1
kind: Pod
metadata:
  name: p
  labels:
    applied: "yes"
    when: 2024-01-01
"""
    assert parse_apply_yaml(body)["metadata"]["labels"] == {"applied": "yes", "when": "2024-01-01"}
    assert parse_apply_yaml(b'{"metadata": {"labels": {"x": "1"}}}') == {"metadata": {"labels": {"x": "1"}}}


def test_apply_is_not_a_patch_of_the_stored_object() -> None:
    with pytest.raises(ValueError, match=r"registry\.apply"):
        apply_patch(make_pod(), APPLY_PATCH_YAML, b"{}", "pods")


@pytest.mark.parametrize("body", [b"", b"   \n", b"a: [unclosed", b"a: &x [1]\nb: *x\n", b"a: 1\n---\nb: 2\n"])
def test_apply_bad_bodies_are_400(body: bytes) -> None:
    with pytest.raises(ApiError) as e:
        parse_apply_yaml(body)
    assert (e.value.code, e.value.reason) == (400, "BadRequest")


# --- never mutate the input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patch_type", "patch"),
    [
        (MERGE_PATCH, {"metadata": {"labels": {"app": None, "x": "1"}}, "spec": {"containers": []}}),
        (
            STRATEGIC_MERGE_PATCH,
            {
                "metadata": {"labels": {"app": None}, "$deleteFromPrimitiveList/finalizers": ["a.example/x"]},
                "spec": {
                    "containers": [{"name": "main", "image": "z", "env": [{"name": "A", "$patch": "delete"}]}],
                    "$setElementOrder/containers": [{"name": "side"}, {"name": "main"}],
                },
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            },
        ),
        (JSON_PATCH, [{"op": "remove", "path": "/metadata/labels/app"}, {"op": "add", "path": "/spec/x", "value": 1}]),
    ],
)
def test_original_is_never_mutated(patch_type: str, patch: Any) -> None:
    original = make_pod()
    snapshot = copy.deepcopy(original)
    out = patched(patch_type, patch, original)
    assert original == snapshot
    assert out != original
    out["metadata"]["labels"]["mutated"] = "yes"
    out["spec"]["tolerations"][0]["key"] = "mutated"
    out["status"]["conditions"][0]["status"] = "mutated"
    assert original == snapshot
