"""registry.apply over an in-memory registry (no HTTP): PatchOptions rules, create by apply, no-op applies,
the /status subresource, and the errors a real server gives for bodies the types cannot index."""

from __future__ import annotations

import json

import pytest

from podherd.localcluster.apimachinery.errors import ApiError
from podherd.localcluster.apimachinery.kinds import LEASES, PODS
from podherd.localcluster.patch.apply import APPLY_PATCH_YAML, MERGE_PATCH
from podherd.localcluster.registry.apply import Applier, parse_force, validate_patch_options
from podherd.localcluster.registry.store import Api
from podherd.localcluster.storage.store import Store


def causes(e: pytest.ExceptionInfo[ApiError]) -> list[tuple[str, str, str]]:
    return [(c.reason, c.field, c.message) for c in e.value.causes]


def test_patch_options_rules() -> None:
    validate_patch_options(APPLY_PATCH_YAML, "kubectl", "true")
    validate_patch_options(MERGE_PATCH, "", None)
    with pytest.raises(ApiError) as e:
        validate_patch_options(APPLY_PATCH_YAML, "", None)
    assert (e.value.code, e.value.message) == (
        422,
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    )
    with pytest.raises(ApiError) as e:
        validate_patch_options(MERGE_PATCH, "m", "false")  # any force, even false
    assert causes(e) == [("FieldValueForbidden", "force", "Forbidden: may not be specified for non-apply patch")]
    with pytest.raises(ApiError) as e:
        validate_patch_options(MERGE_PATCH, "x" * 129, None)
    assert causes(e) == [("FieldValueTooLong", "fieldManager", "Too long: may not be more than 128 bytes")]
    with pytest.raises(ApiError) as e:
        validate_patch_options(MERGE_PATCH, "a\tb", None)
    assert causes(e)[0][2] == 'Invalid value: "a\tb": invalid character U+0009 (at position 1)'
    assert (parse_force(None), parse_force("true"), parse_force("0")) == (False, True, False)
    with pytest.raises(ApiError):
        parse_force("maybe")


def lease_body(name: str, **spec: object) -> bytes:
    return json.dumps(
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name}, "spec": spec}
    ).encode()


def test_create_by_apply_then_nothing_to_do() -> None:
    api = Api(Store())
    applier = Applier(api)
    created, was_created = applier.apply(LEASES, "default", "l", lease_body("l", holderIdentity="a"), "m", False)
    assert was_created and created["spec"] == {"holderIdentity": "a"}
    assert [e["manager"] for e in created["metadata"]["managedFields"]] == ["m"]
    again, was_created = applier.apply(LEASES, "default", "l", lease_body("l", holderIdentity="a"), "m", False)
    assert not was_created and again is api.get(LEASES, "default", "l")  # the stored object itself: no write
    dry, _ = applier.apply(LEASES, "default", "l", lease_body("l", holderIdentity="b"), "m", False, dry_run=True)
    assert dry["spec"]["holderIdentity"] == "b" and api.get(LEASES, "default", "l")["spec"]["holderIdentity"] == "a"


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (lease_body("other"), 400, "the name of the object (other) does not match the name on the URL (l)"),
        (
            b'{"apiVersion": "v1", "kind": "Lease", "metadata": {"name": "l"}}',
            400,
            "invalid object type: /v1, Kind=Lease",
        ),
        (b"[1, 2]", 400, "error decoding YAML"),
        (
            b'{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l", "managedFields": []}}',
            400,
            "metadata.managedFields must be nil",
        ),
    ],
)
def test_bad_configurations(body: bytes, code: int, message: str) -> None:
    with pytest.raises(ApiError) as e:
        Applier(Api(Store())).apply(LEASES, "default", "l", body, "m", False)
    assert e.value.code == code and message in e.value.message


def test_a_keyed_item_without_its_key_is_the_500_a_real_server_gives() -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"image": "i"}]}}
    with pytest.raises(ApiError) as e:
        Applier(Api(Store())).apply(PODS, "default", "p", json.dumps(body).encode(), "m", False)
    assert e.value.code == 500
    assert e.value.message.startswith("failed to create typed patch object (/v1, Kind=Pod): associative list with keys")


def test_apply_to_status_owns_status_only_under_its_subresource() -> None:
    api = Api(Store())
    applier = Applier(api)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }
    applier.apply(PODS, "default", "p", json.dumps(pod).encode(), "owner", False)
    status = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "status": {"phase": "Running"}}
    out, _ = applier.apply(PODS, "default", "p", json.dumps(status).encode(), "reporter", False, "status")
    assert out["status"]["phase"] == "Running"
    entries = {e["manager"]: e for e in out["metadata"]["managedFields"]}
    assert entries["reporter"]["subresource"] == "status"
    assert entries["reporter"]["fieldsV1"] == {"f:status": {"f:phase": {}}}
    assert "f:spec" in entries["owner"]["fieldsV1"]
    with pytest.raises(ApiError) as e:
        applier.apply(
            PODS,
            "default",
            "missing",
            json.dumps({**status, "metadata": {"name": "missing"}}).encode(),
            "r",
            False,
            "status",
        )
    assert e.value.code == 404
